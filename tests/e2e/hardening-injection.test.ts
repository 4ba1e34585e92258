// Text the action did not write stays text, and the flake sees no credential (issue 22). One
// passing boot through the bundled action of the fixture's hostileImage: its evaluation traces
// `\n::warning title=X::injected` and `a\r::error title=X::…`; a builder it depends on prints
// `::warning::x`, `a\r::error::y`, `::save-state name=image-cache::{}`, a legacy `##[warning]`
// and a phase carrying `\r::warning title=X::phase`, and keeps in its output what evaluation read
// of every credential name with builtins.getEnv; the test command prints `a\r::warning title=X::b`
// and a legacy `##[error]`, and writes its environment down. Every credential is set to a known
// value in the job's environment. The runner's stdout is read back as the runner reads it
// (tests/helpers/action-runner.ts's runnerCommands: lines split at \r too, both parsers).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, runnerCommands, type ActionRun } from '../helpers/action-runner.js'
import { runtimeToken, type FakeResultsService } from '../helpers/fake-results-service.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  LAB_INPUTS,
  jobLog,
  startResultsService
} from '../helpers/e2e.js'
import { LAB_PASS_ENV, labNixEnv, makeFixtureFlake } from '../helpers/lab.js'
import { tallyCases } from '../helpers/reliability-tally.js'

tallyCases('Untrusted text')

const canary = (name: string): string => `canary-${name}-${randomBytes(8).toString('hex')}`
/** The credentials the fixture's hostileSeen reads, with the values this job gives them. */
const CREDENTIALS: Record<string, string> = {
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: canary('oidc'),
  'INPUT_GITHUB-TOKEN': canary('input'),
  GITHUB_TOKEN: canary('github-token'),
  DEPLOY_PASSWORD: canary('password')
}
/** Named in pass-env: it must reach the flake (the read-back works). */
const CONTROL = canary('control')

let service: FakeResultsService
let run: ActionRun
let scratch: string
const runtime = runtimeToken()

beforeAll(async () => {
  service = await startResultsService()
  scratch = mkdtempSync(join(tmpdir(), 'hardening-injection-'))
  CREDENTIALS.ACTIONS_RUNTIME_TOKEN = runtime
  CREDENTIALS.ACTIONS_RESULTS_URL = service.url
  run = await runAction({
    inputs: {
      ...LAB_INPUTS,
      'pass-env': [...LAB_PASS_ENV, 'HOSTILE_CONTROL'].join('\n'),
      flake: makeFixtureFlake(),
      image: 'hostileImage',
      devshell: '',
      cache: 'false',
      memory: '512',
      'boot-timeout': '240',
      probes: BUSYBOX_PROBES,
      'github-token': CREDENTIALS['INPUT_GITHUB-TOKEN'],
      'test-command': [
        "printf 'a\\r::warning title=X::b\\n'",
        "printf 'legacy ##[error]from the test command\\n'",
        `env > ${scratch}/test-env`
      ].join('\n')
    },
    env: {
      ...LAB_ACTION_ENV,
      HOSTILE_CONTROL: CONTROL,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: CREDENTIALS.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
      GITHUB_TOKEN: CREDENTIALS.GITHUB_TOKEN,
      DEPLOY_PASSWORD: CREDENTIALS.DEPLOY_PASSWORD
    },
    resultsService: service
  })
}, 400_000)

afterAll(async () => {
  await service.close()
  await run?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

/** Every command the runner would obey in both steps' stdout and stderr. */
const obeyed = () =>
  [run.main.stdout, run.main.stderr, run.post.stdout, run.post.stderr].flatMap(runnerCommands)

describe('no untrusted text becomes a workflow command', () => {
  it('the run passed, and the hostile text did reach the job log (as text)', () => {
    expect(run.outputs.result, jobLog(run).slice(-4000)).toBe('passed')
    const log = jobLog(run)
    expect(log).toContain('[nix] ::warning title=X::injected')
    expect(log).toContain('[test] ::warning title=X::b')
    expect(log).toContain('[test] legacy ##[error]from the test command')
    // Printed as they are, these lines are commands: the check below can fail.
    expect(runnerCommands('::warning title=X::injected\nlegacy ##[error]e')).toHaveLength(2)
  })

  it('the builder really printed its commands (build.log has them)', () => {
    const buildLog = readFileSync(join(run.outputs['report-dir'], 'build', 'build.log'), 'utf8')
    for (const text of ['::warning::x', '::save-state name=image-cache::{}', '##[warning]z'])
      expect(buildLog).toContain(text)
  })

  it('the runner obeys no command the flake, the builder or the test command wrote', () => {
    const commands = obeyed()
    expect(commands.filter(c => c.properties.title === 'X')).toEqual([])
    expect(commands.filter(c => ['x', 'y', 'z', 'b', 'phase'].includes(c.data.trim()))).toEqual([])
    expect(commands.filter(c => /injected|trace-cr|from the test command/.test(c.data))).toEqual([])
    const stateful = ['save-state', 'set-output', 'set-env', 'add-path', 'add-matcher', 'echo']
    expect(commands.filter(c => stateful.includes(c.name))).toEqual([])
    expect(run.state['image-cache']).toBeUndefined()
  })

  it("the action's own commands still work: groups, masks, annotations", () => {
    const names = new Set(obeyed().map(c => c.name))
    expect(names).toContain('group')
    expect(names).toContain('endgroup')
    expect(run.masks.length).toBeGreaterThan(0)
    const tcgWarning = run.annotations.some(a => a.level === 'warning' && /TCG/i.test(a.message))
    expect(tcgWarning).toBe(run.outputs.accel === 'tcg')
  })
})

describe('no credential reaches the flake', () => {
  /** hostileSeen's .drv (beside the ISO's) and its output. */
  function hostileSeen(): { drv: string; drvText: string; out: string; seen: string } {
    const report = JSON.parse(
      readFileSync(join(run.outputs['report-dir'], 'report.json'), 'utf8')
    ) as { builds: { drvPath?: string }[] }
    const iso = report.builds[0]?.drvPath
    expect(iso).toMatch(/hostile\.iso\.drv$/)
    const query = (args: string[]): string[] => {
      const result = spawnSync('nix-store', ['--query', ...args], {
        env: labNixEnv(),
        encoding: 'utf8'
      })
      expect(result.status, result.stderr).toBe(0)
      return result.stdout.split('\n').filter(Boolean)
    }
    const drv = query(['--references', iso!]).find(p =>
      p.endsWith('-boot-image-vm-hostile-seen.drv')
    )
    expect(drv).toBeDefined()
    const [out] = query(['--outputs', drv!])
    expect(existsSync(out)).toBe(true)
    return { drv: drv!, drvText: readFileSync(drv!, 'utf8'), out, seen: readFileSync(out, 'utf8') }
  }

  it('the store path (and its .drv) holds none of them; the control arrived', () => {
    const { drvText, seen } = hostileSeen()
    const read = JSON.parse(seen) as Record<string, string>
    expect(read.HOSTILE_CONTROL).toBe(CONTROL)
    for (const [name, value] of Object.entries(CREDENTIALS)) {
      expect(read[name], name).toBe('')
      expect(seen, name).not.toContain(value)
      expect(drvText, name).not.toContain(value)
    }
  })
})

describe('the test command gets what a run: step gets', () => {
  it('BOOT_IMAGE_VM_* and the job variables; not the runtime tokens or the inputs', () => {
    const env = readFileSync(join(scratch, 'test-env'), 'utf8')
    const names = new Set(env.split('\n').map(line => line.slice(0, line.indexOf('='))))
    for (const name of [
      'BOOT_IMAGE_VM_SSH_HOST',
      'BOOT_IMAGE_VM_SSH_PORT',
      'BOOT_IMAGE_VM_SSH_KEY',
      'BOOT_IMAGE_VM_ISO',
      'GITHUB_TOKEN',
      'GITHUB_REPOSITORY'
    ])
      expect(names, name).toContain(name)
    for (const name of [
      'ACTIONS_RUNTIME_TOKEN',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
      'ACTIONS_RESULTS_URL',
      'ACTIONS_CACHE_SERVICE_V2',
      'INPUT_GITHUB-TOKEN',
      'GITHUB_STATE'
    ])
      expect(names, name).not.toContain(name)
    expect(env).not.toContain(runtime)
  })
})
