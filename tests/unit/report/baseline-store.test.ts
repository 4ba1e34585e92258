import { describe, expect, it } from 'vitest'
import {
  baselineKey,
  baselineKeyPrefix,
  baselineScope,
  restoreBaseline,
  type BaselineScope
} from '../../../src/report/baseline-store.js'
import { consoleLog } from '../../../src/log.js'

const image = { flake: '.', image: 'bootImage' }
const push = {
  GITHUB_REPOSITORY: 'octo/repo',
  GITHUB_EVENT_NAME: 'schedule',
  GITHUB_REF: 'refs/heads/release/1.x',
  GITHUB_REF_NAME: 'release/1.x',
  GITHUB_RUN_ID: '42',
  GITHUB_RUN_ATTEMPT: '2'
}

describe('baseline keys', () => {
  it('are per repository, branch, image and system, unique per run attempt', () => {
    const scope = baselineScope(push, image) as BaselineScope
    expect(scope.saves).toBe(true)
    expect(scope.branch).toBe('release/1.x')
    const prefix = baselineKeyPrefix(scope)
    expect(prefix).toMatch(
      /^boot-image-vm-baseline-v1\/octo%2Frepo\/release%2F1\.x\/bootImage%40[0-9a-f]{8}\/\w+-\w+\/$/
    )
    expect(baselineKey(scope)).toBe(`${prefix}42-2`)
    // A branch named like another's prefix cannot match it: every part is encoded and closed by '/'.
    const other = baselineScope({ ...push, GITHUB_REF_NAME: 'release' }, image) as BaselineScope
    expect(prefix.startsWith(baselineKeyPrefix(other))).toBe(false)
    // Another flake with the same attribute is another image.
    const elsewhere = baselineScope(push, { flake: './other', image: 'bootImage' }) as BaselineScope
    expect(baselineKeyPrefix(elsewhere)).not.toBe(prefix)
  })

  it("use a pull request's base branch and never save from it", () => {
    const scope = baselineScope(
      {
        ...push,
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_REF: 'refs/pull/7/merge',
        GITHUB_REF_NAME: '7/merge',
        GITHUB_BASE_REF: 'main',
        GITHUB_HEAD_REF: 'feature'
      },
      image
    ) as BaselineScope
    expect(scope.branch).toBe('main')
    expect(scope.saves).toBe(false)
    const main = baselineScope({ ...push, GITHUB_REF_NAME: 'main' }, image) as BaselineScope
    expect(baselineKeyPrefix(scope)).toBe(baselineKeyPrefix(main))
  })

  it('say why there is no scope outside Actions', () => {
    expect(baselineScope({}, image)).toMatch(/GITHUB_REPOSITORY or GITHUB_REF_NAME is not set/)
  })

  it('restore quietly reports an unavailable cache service', async () => {
    const saved = { ...process.env }
    delete process.env.ACTIONS_RESULTS_URL
    delete process.env.ACTIONS_CACHE_URL
    delete process.env.ACTIONS_RUNTIME_TOKEN
    const lines: string[] = []
    try {
      const scope = baselineScope(push, image) as BaselineScope
      const restored = await restoreBaseline(
        scope,
        consoleLog(line => lines.push(line))
      )
      expect(restored.status).toBe('unavailable')
      expect(lines).toEqual([])
    } finally {
      process.env = saved
    }
  })
})
