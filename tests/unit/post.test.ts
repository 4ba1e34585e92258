// The post step in-process (src/post.ts): with no state it does nothing; with forged state it
// ignores each value with a warning and deletes, runs and signals nothing outside the action's
// run directory; with a main that was stopped before it delivered, it delivers the report and
// deletes the key. The runner is a fake that keeps what it was told (tests/unit/stand-ins.ts) and
// there is no artifact or cache service (uploads fail at once). It cannot prove that a real
// GITHUB_STATE line reaches post as this state, nor that the bundled post step ends with 0 and
// uploads nothing: tests/e2e/post-state.test.ts runs dist/post.js for that.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../../src/model/index.js'
import { run } from '../../src/post.js'
import { STATE } from '../../src/runner/state.js'
import { forgedState } from '../helpers/forged-state.js'
import { fakeRunner } from './stand-ins.js'

const scratch = mkdtempSync(join(tmpdir(), 'post-in-process-'))
let sleeper: ChildProcess
beforeAll(() => {
  sleeper = spawn('sleep', ['600'], { stdio: 'ignore' })
})
afterAll(() => {
  sleeper?.kill('SIGKILL')
  rmSync(scratch, { recursive: true, force: true })
})

function runnerEnv(): NodeJS.ProcessEnv {
  return { RUNNER_TEMP: mkdtempSync(join(scratch, 'runner-temp-')), PATH: '/usr/bin:/bin' }
}

const ignored = (name: string): string => `Post step: ignored the state '${name}' main handed over`

describe('the post step with no state', () => {
  it('does nothing and says nothing', async () => {
    const runner = fakeRunner({ env: runnerEnv() })
    await run(runner)
    expect(runner.log.lines.filter(line => line.level !== 'debug')).toEqual([])
    expect(runner.summaries).toEqual([])
    expect(runner.failures).toEqual([])
    expect(runner.outputs).toEqual({})
  })
})

describe('the post step with a forged state', () => {
  it('ignores each value with a warning; deletes, runs and signals nothing it names', async () => {
    const { victim, marker, state } = forgedState(scratch, sleeper.pid!)
    const runner = fakeRunner({ env: runnerEnv(), state })
    await run(runner)
    const warnings = runner.warnings()
    for (const name of [
      STATE.reportDir,
      STATE.keyDir,
      STATE.cleanupPaths,
      STATE.qemuPid,
      STATE.imageCache,
      STATE.baselineFile
    ]) {
      expect(
        warnings.some(warning => warning.startsWith(ignored(name))),
        name
      ).toBe(true)
    }
    expect(readFileSync(join(victim, 'keys', 'id_ed25519'), 'utf8')).toBe('not to be deleted\n')
    expect(existsSync(join(victim, 'secret.txt'))).toBe(true)
    expect(existsSync(marker)).toBe(false)
    // The process the pid names is no QEMU: left alone.
    expect(sleeper.exitCode).toBeNull()
    expect(sleeper.signalCode).toBeNull()
    // No report delivered from a directory that is not the run's, no failure.
    expect(runner.summaries).toEqual([])
    expect(runner.failures).toEqual([])
  })

  it('a pid that is no number, and cleanup paths that are no JSON: each a warning', async () => {
    const runner = fakeRunner({
      env: runnerEnv(),
      state: { [STATE.qemuPid]: '1; rm -rf /', [STATE.cleanupPaths]: '{' }
    })
    await run(runner)
    expect(runner.warnings()).toEqual([
      expect.stringMatching(new RegExp(`^${ignored(STATE.qemuPid)}: .* is not a process id`)),
      `${ignored(STATE.cleanupPaths)}: not JSON`
    ])
  })
})

describe('the post step after a main stopped before it delivered', () => {
  it('completes and delivers the report, cancelled; deletes the key directory', async () => {
    const env = runnerEnv()
    const runDir = mkdtempSync(join(env.RUNNER_TEMP!, 'boot-image-vm-'))
    const reportDir = join(runDir, 'report')
    const keyDir = join(runDir, 'work', 'ssh-key')
    mkdirSync(reportDir, { recursive: true })
    mkdirSync(keyDir, { recursive: true, mode: 0o700 })
    writeFileSync(join(keyDir, 'id_ed25519'), 'stand-in private key\n')
    // What the stages had written when main was killed: setup done, the build under way.
    const partial: Report = {
      schemaVersion: 1,
      result: 'passed',
      decidedBy: null,
      complete: false,
      startedAt: new Date().toISOString(),
      finishedAt: '',
      stages: { setup: { status: 'passed', durationMs: 1, detail: 'stand-in' } },
      builds: []
    }
    writeFileSync(join(reportDir, 'report.json'), JSON.stringify(partial))
    const runner = fakeRunner({
      env,
      state: { [STATE.reportDir]: reportDir, [STATE.keyDir]: keyDir, [STATE.cancelled]: 'true' }
    })
    await run(runner)
    const report = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report
    expect(report).toMatchObject({
      result: 'build-failed',
      decidedBy: 'build',
      complete: true,
      cancelled: true
    })
    expect(report.error).toContain('cancelled')
    expect(runner.log.lines).toContainEqual({
      level: 'error',
      message: expect.stringMatching(/^boot-image-vm: build-failed \(The run was cancelled/)
    })
    expect(runner.summaries).toHaveLength(1)
    expect(runner.summaries[0]).toContain('build-failed')
    // The key the upload's scan must know is masked, then deleted.
    expect(runner.secrets).toContain('stand-in private key')
    expect(existsSync(keyDir)).toBe(false)
    expect(runner.failures).toEqual([])
  })

  it('does not deliver again what main delivered', async () => {
    const env = runnerEnv()
    const runDir = mkdtempSync(join(env.RUNNER_TEMP!, 'boot-image-vm-'))
    const reportDir = join(runDir, 'report')
    mkdirSync(reportDir, { recursive: true })
    const runner = fakeRunner({
      env,
      state: { [STATE.reportDir]: reportDir, [STATE.delivered]: 'true' }
    })
    await run(runner)
    expect(runner.summaries).toEqual([])
    expect(runner.log.lines.filter(line => line.level === 'error')).toEqual([])
  })
})
