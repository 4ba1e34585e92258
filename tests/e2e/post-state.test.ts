// The bundled post step with a forged state: what a `::save-state` line printed by code the action
// runs (a builder, the flake's evaluation, the guest) could hand it. Main here is a stand-in that
// only writes that state (the real main's part is not under test: a real run's state is checked
// by every other e2e file, whose post steps still delete the key and save the cache). Post must
// run nothing, delete nothing, upload nothing and signal nothing that state names outside the
// action's own run directory, warn about each value, and end with 0.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, runScripts, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import { LAB_ACTION_ENV, jobLog, startResultsService } from '../helpers/e2e.js'
import { forgedState } from '../helpers/forged-state.js'

let scratch: string
let victim: string
let sleeper: ChildProcess
let service: FakeResultsService
let run: ActionRun

/** Every file under dir, relative. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'post-state-'))
  // What the forged state points at: files that must survive, a program that must not run.
  sleeper = spawn('sleep', ['600'], { stdio: 'ignore' })
  const forged = forgedState(scratch, sleeper.pid!)
  victim = forged.victim
  const state = forged.state
  // The stand-in main: it writes only the state, as `::save-state` lines would have.
  const main = join(scratch, 'main.mjs')
  const lines = Object.entries(state).map(([name, value]) => `${name}=${value}`)
  writeFileSync(
    main,
    `import { appendFileSync } from 'node:fs'\n` +
      `appendFileSync(process.env.GITHUB_STATE, ${JSON.stringify(lines.join('\n') + '\n')})\n`
  )
  service = await startResultsService()
  run = await runScripts(
    { main, post: join(REPO_ROOT, 'dist/post.js') },
    {
      inputs: {},
      env: { ...LAB_ACTION_ENV, PATH: process.env.PATH ?? '' },
      resultsService: service
    }
  )
}, 120_000)

afterAll(async () => {
  sleeper?.kill('SIGKILL')
  await service?.close()
  await run?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

describe('the post step with a forged state', () => {
  it('received the forged state and ended with 0', () => {
    expect(run.state['key-dir']).toBe('/')
    expect(run.post.exitCode, jobLog(run).slice(-3000)).toBe(0)
  })

  it('ran no program the state names', () => {
    expect(existsSync(join(scratch, 'ran'))).toBe(false)
  })

  it('deleted nothing and wrote nothing outside its run directory', () => {
    expect(files(victim)).toEqual(['keys', 'keys/id_ed25519', 'secret.txt'])
  })

  it('uploaded nothing: no artifact, no cache entry', () => {
    expect(service.artifacts).toEqual([])
    expect(service.caches).toEqual([])
  })

  it('signalled no process that is not a QEMU', () => {
    expect(sleeper.exitCode).toBeNull()
    expect(sleeper.signalCode).toBeNull()
    expect(() => process.kill(sleeper.pid as number, 0)).not.toThrow()
  })

  it.each([
    ['report-dir', /outside the action's run directories/],
    ['key-dir', /outside the action's run directories/],
    ['cleanup-paths', /outside the action's run directories/],
    ['qemu-pid', /is not a QEMU: left alone/],
    ['image-cache', /is not a Nix this step finds/],
    ['baseline-file', /outside the action's run directories/]
  ])('warned that it ignored %s, and why', (name, why) => {
    const warnings = run.annotations
      .filter(a => a.step === 'post' && a.level === 'warning')
      .map(a => a.message)
      .filter(message => message.includes(`ignored the state '${name}'`))
    expect(warnings.length, warnings.join('\n')).toBeGreaterThan(0)
    expect(warnings.some(message => why.test(message))).toBe(true)
  })
})
