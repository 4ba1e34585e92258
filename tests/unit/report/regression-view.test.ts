import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { consoleLog } from '../../../src/shared/log.js'
import { regressionView, runDescription } from '../../../src/report/regression-view.js'
import { failedReport, passedReport } from './fixtures.js'
import {
  clientEnv,
  setClientEnv,
  startFakeResultsService
} from '../../helpers/fake-results-service.js'

const lines: string[] = []
const base = {
  slowdownThresholdPercent: 25,
  failOnRegression: false,
  flake: '.',
  image: 'bootImage',
  log: consoleLog(line => lines.push(line))
}
const noNix = (report = passedReport()) => {
  report.setup!.nix!.nixPath = '/nonexistent/nix'
  return report
}

describe('regressionView', () => {
  it('writes baseline.json for a passing run and says why nothing was compared outside Actions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'biv-view-'))
    const view = await regressionView(noNix(), dir, { ...base, compare: 'auto', env: {} })
    expect(view.comparison).toMatchObject({ status: 'error', regressions: [] })
    expect(view.comparison.detail).toMatch(/GITHUB_REPOSITORY or GITHUB_REF_NAME is not set/)
    expect(view.saveKey).toBeUndefined()
    expect(view.baselineFile).toBe(join(dir, 'baseline.json'))
    expect(JSON.parse(readFileSync(view.baselineFile!, 'utf8')).image.attribute).toBe('bootImage')
  })

  it('is off when asked, and writes no baseline for a failing run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'biv-view-'))
    const off = await regressionView(noNix(), dir, { ...base, compare: 'off', env: {} })
    expect(off.comparison.status).toBe('off')
    const failing = mkdtempSync(join(tmpdir(), 'biv-view-'))
    const view = await regressionView(noNix(failedReport('probe-failed')), failing, {
      ...base,
      compare: 'off',
      env: {}
    })
    expect(view.baselineFile).toBeUndefined()
    expect(existsSync(join(failing, 'baseline.json'))).toBe(false)
  })

  it('describes the run the baseline comes from', () => {
    expect(
      runDescription({
        GITHUB_REPOSITORY: 'o/r',
        GITHUB_RUN_ID: '5',
        GITHUB_RUN_ATTEMPT: '2',
        GITHUB_REF_NAME: 'main'
      })
    ).toBe('o/r run 5 attempt 2 on main')
    expect(runDescription({})).toBeUndefined()
  })

  it('does not leave post a save to try when the service failed the lookup', async () => {
    const service = await startFakeResultsService({ failAll: 403 })
    const workspace = mkdtempSync(join(tmpdir(), 'biv-view-'))
    const restoreEnv = setClientEnv({ ...clientEnv(service), GITHUB_WORKSPACE: workspace })
    const cwd = process.cwd()
    process.chdir(workspace)
    lines.length = 0
    try {
      const env = { GITHUB_REPOSITORY: 'o/r', GITHUB_REF_NAME: 'main', GITHUB_RUN_ID: '5' }
      const view = await regressionView(noNix(), workspace, { ...base, compare: 'auto', env })
      expect(view.comparison.status).toBe('error')
      expect(view.baselineFile).toBe(join(workspace, 'baseline.json'))
      expect(view.saveKey).toBeUndefined()
      expect(lines).toContain(
        'This run does not become the baseline: the cache service failed the lookup, so post does not try it again.'
      )
    } finally {
      process.chdir(cwd)
      restoreEnv()
      await service.close()
    }
  })

  it('does not ask a service that failed the image cache lookup of the same run', async () => {
    const service = await startFakeResultsService()
    const workspace = mkdtempSync(join(tmpdir(), 'biv-view-'))
    const restoreEnv = setClientEnv({ ...clientEnv(service), GITHUB_WORKSPACE: workspace })
    try {
      const report = noNix()
      report.cache = { status: 'error', detail: 'restore failed', serviceDown: true }
      const env = { GITHUB_REPOSITORY: 'o/r', GITHUB_REF_NAME: 'main', GITHUB_RUN_ID: '5' }
      const view = await regressionView(report, workspace, { ...base, compare: 'auto', env })
      expect(view.comparison.status).toBe('error')
      expect(view.comparison.detail).toMatch(/failed the image cache lookup of this run/)
      expect(view.saveKey).toBeUndefined()
      expect(service.calls).toEqual([])
    } finally {
      restoreEnv()
      await service.close()
    }
  })
})
