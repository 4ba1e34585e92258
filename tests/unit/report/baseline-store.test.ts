import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import {
  baselineKey,
  baselineKeyPrefix,
  baselineScope,
  restoreBaseline,
  saveBaseline,
  type BaselineScope
} from '../../../src/report/baseline-store.js'
import { consoleLog } from '../../../src/shared/log.js'
import { baselineJson, withHistory } from '../../../src/report/baseline.js'
import {
  clientEnv,
  setClientEnv,
  startFakeResultsService,
  type FakeResultsService,
  type FaultOptions
} from '../../helpers/fake-results-service.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures')
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
  it('are per repository, branch, image, system and firmware, unique per run attempt', () => {
    const scope = baselineScope(push, image) as BaselineScope
    expect(scope.saves).toBe(true)
    expect(scope.branch).toBe('release/1.x')
    const prefix = baselineKeyPrefix(scope)
    expect(prefix).toMatch(
      /^boot-image-vm-baseline-v2\/octo%2Frepo\/release%2F1\.x\/bootImage%40[0-9a-f]{8}\/\w+-\w+\/bios\/$/
    )
    // Version 1 keys had no firmware part; UEFI boots keep a window of their own.
    expect(baselineKeyPrefix(scope, 1)).toBe(prefix.replace('-v2/', '-v1/').replace(/bios\/$/, ''))
    const uefi = baselineScope(push, { ...image, firmware: 'uefi' }) as BaselineScope
    expect(baselineKeyPrefix(uefi)).toBe(prefix.replace(/bios\/$/, 'uefi/'))
    // A guest of another architecture keeps a window of its own; an x86_64 guest's key is as before.
    const arm = baselineScope(push, { ...image, guest: 'aarch64' }) as BaselineScope
    expect(baselineKeyPrefix(arm)).toBe(`${prefix}guest-aarch64/`)
    expect(
      baselineKeyPrefix(baselineScope(push, { ...image, guest: 'x86_64' }) as BaselineScope)
    ).toBe(prefix)
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

describe('the baseline in a cache service that is down, or has it already', () => {
  let service: FakeResultsService | undefined
  let restoreEnv = (): void => {}
  const cwd = process.cwd()
  afterEach(async () => {
    restoreEnv()
    process.chdir(cwd)
    await service?.close()
    service = undefined
  })

  async function serve(faults: FaultOptions): Promise<FakeResultsService> {
    service = await startFakeResultsService(faults)
    const workspace = mkdtempSync(join(tmpdir(), 'biv-baseline-'))
    restoreEnv = setClientEnv({ ...clientEnv(service), GITHUB_WORKSPACE: workspace })
    process.chdir(workspace)
    return service
  }

  it('is told apart from "no baseline yet", once, as a warning', async () => {
    await serve({ failAll: 403 })
    const lines: string[] = []
    const restored = await restoreBaseline(
      baselineScope(push, image) as BaselineScope,
      consoleLog(line => lines.push(line))
    )
    expect(restored).toMatchObject({ status: 'error', serviceDown: true })
    expect(restored.detail).toMatch(/^not restored: .*403/)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^warning: The baseline was not restored: /)
  })

  it('makes the save say why nothing was saved', async () => {
    const failing = await serve({ failAll: 403 })
    const file = join(mkdtempSync(join(tmpdir(), 'biv-baseline-')), 'baseline.json')
    writeFileSync(file, '{}')
    const lines: string[] = []
    const outcome = await saveBaseline(
      file,
      'k',
      consoleLog(line => lines.push(line))
    )
    expect(outcome).toMatch(/^not saved: .*403/)
    expect(lines.filter(line => line.startsWith('warning:'))).toHaveLength(1)
    expect(failing.caches).toEqual([])
  })

  it('restores a version 1 baseline until a version 2 one exists, then the newest version 2', async () => {
    const working = await serve({})
    const scope = baselineScope(push, image) as BaselineScope
    const log = consoleLog(() => undefined)
    const v1 = join(FIXTURES, 'baselines', 'v1-baseline.json')
    const v1Key = `${baselineKeyPrefix(scope, 1)}97-1`
    expect(await saveBaseline(v1, v1Key, log)).toBe(`saved as ${v1Key}`)
    const old = await restoreBaseline(scope, log)
    expect(old).toMatchObject({ status: 'restored', key: v1Key })
    expect(old.baseline?.history.map(r => r.label)).toEqual(['#97'])

    const file = join(mkdtempSync(join(tmpdir(), 'biv-baseline-')), 'baseline.json')
    const next = withHistory(
      { ...old.baseline!, createdAt: '2026-11-25T03:00:00.000Z', run: 'o/r run 98' },
      old.baseline
    )
    writeFileSync(file, baselineJson(next))
    expect(await saveBaseline(file, baselineKey(scope), log)).toBe(`saved as ${baselineKey(scope)}`)
    const restored = await restoreBaseline(scope, log)
    expect(restored).toMatchObject({ status: 'restored', key: baselineKey(scope) })
    expect(restored.baseline?.history.map(r => r.label)).toEqual(['#97', '#98'])
    expect(working.caches).toHaveLength(2)
  })

  it('is not what a key saved before is: that is said plainly, without a warning', async () => {
    const working = await serve({})
    const file = join(mkdtempSync(join(tmpdir(), 'biv-baseline-')), 'baseline.json')
    writeFileSync(file, '{}')
    const lines: string[] = []
    const log = consoleLog(line => lines.push(line))
    expect(await saveBaseline(file, 'k', log)).toBe('saved as k')
    expect(await saveBaseline(file, 'k', log)).toBe('not saved: k exists already')
    expect(lines.filter(line => line.startsWith('warning:'))).toEqual([])
    expect(working.caches.map(entry => entry.key)).toEqual(['k'])
  })
  // A restore abandoned at its bound ends (fails) later, when the service closes: this test runs
  // after the ones that read what the toolkit logs.
  it('that never answers costs the bound, not the job', async () => {
    await serve({ hang: true })
    const restored = await restoreBaseline(
      baselineScope(push, image) as BaselineScope,
      consoleLog(() => undefined),
      300
    )
    expect(restored).toMatchObject({ status: 'error', serviceDown: true })
    expect(restored.detail).toBe('not restored: the cache service did not answer in 0.3 s')
  })
})
