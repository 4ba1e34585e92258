// The incident, end to end through the bundled action: a build that passes on the host and fails
// when driven from inside `nix develop .#bootImageTest`, because the devshell nests TMPDIR one level
// deeper (nix-shell.XXXXXX) and the fixture's socketImage binds a unix socket below its build dir.
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAKE_GITHUB_TOKEN, runAction, type ActionRun } from '../helpers/action-runner.js'
import { runtimeToken, type FakeResultsService } from '../helpers/fake-results-service.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  artifactOf,
  jobLog,
  startResultsService,
  LAB_BOOT_INPUTS
} from '../helpers/e2e.js'
import { makeFixtureFlake } from '../helpers/lab.js'

// Secrets planted in the job's environment: none may reach a file, the summary, an output or the log.
const canaries = {
  MY_API_TOKEN: `canary-${randomBytes(12).toString('hex')}`,
  DB_PASSWORD: `canary-pw-${randomBytes(12).toString('hex')}`,
  GITHUB_TOKEN: FAKE_GITHUB_TOKEN,
  ACTIONS_RUNTIME_TOKEN: runtimeToken()
}

let service: FakeResultsService
let flake: string
let scratch: string
const runs: ActionRun[] = []

beforeAll(async () => {
  service = await startResultsService()
  flake = makeFixtureFlake()
  // Short enough for the host's build (socket path = TMPDIR + 72 bytes, + 6 on Nix 2.24–2.29),
  // too long once nix develop adds /nix-shell.XXXXXX (17 bytes): 26 bytes.
  scratch = mkdtempSync('/tmp/biv-e2e-')
})
afterAll(async () => {
  await service.close()
  await Promise.all(runs.map(run => run.cleanup()))
  rmSync(scratch, { recursive: true, force: true })
})

function tmpdirOf(name: string): string {
  const dir = `${scratch}/${name}`
  mkdirSync(dir)
  return dir
}

async function run(inputs: Record<string, string>, tmpdir: string): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      ...LAB_BOOT_INPUTS,
      flake,
      probes: BUSYBOX_PROBES,
      ...inputs
    },
    env: { ...LAB_ACTION_ENV, ...canaries, TMPDIR: tmpdir },
    resultsService: service
  })
  runs.push(result)
  return result
}

/** No planted secret (nor the ephemeral private key) anywhere but in ::add-mask:: lines. */
function expectNoSecrets(run: ActionRun, files: Record<string, string>): void {
  const log = jobLog(run)
  const places: Record<string, string> = {
    ...Object.fromEntries(Object.entries(files).map(([name, text]) => [`artifact ${name}`, text])),
    summary: run.summary,
    outputs: JSON.stringify(run.outputs),
    'job log': log
  }
  // @actions/artifact masks the results URL and its signed URLs, and names them in its own
  // ::debug:: lines (which the runner masks): here, the private key's lines and the planted values.
  const privateKeyLines = run.masks.filter(
    mask => /^[A-Za-z0-9+/=]{16,}$/.test(mask) && !log.includes(`sig=${mask}`)
  )
  expect(privateKeyLines.length).toBeGreaterThan(0)
  for (const [place, text] of Object.entries(places)) {
    expect(text, place).not.toContain('OPENSSH PRIVATE KEY')
    for (const [name, value] of Object.entries(canaries))
      expect(text.includes(value), `${place} holds ${name}`).toBe(false)
    for (const mask of privateKeyLines) {
      const at = text.indexOf(mask)
      const where = at < 0 ? '' : text.slice(Math.max(0, at - 80), at + mask.length + 20)
      expect(where, `${place} holds a masked value`).toBe('')
    }
  }
  // The canaries were seen (so masked), not just absent from the environment.
  for (const value of Object.values(canaries)) expect(run.masks).toContain(value)
}

const shellDirs = (dir: string): string[] =>
  readdirSync(dir).filter(name => name.startsWith('nix-shell.'))

describe('build-in: the devshell as a test harness would enter it', () => {
  it('passes on the host, fails in the devshell: build-failed, with the socket error and the TMPDIR numbers', async () => {
    const tmpdir = tmpdirOf('tmpdir')
    expect(Buffer.byteLength(tmpdir)).toBe(26)
    const result = await run({ image: 'socketImage', 'build-in': 'both' }, tmpdir)
    expect(result.main.stderr).not.toMatch(/TypeError|ReferenceError/)

    // The worse outcome decides; nothing is booted.
    expect(result.outputs.result).toBe('build-failed')
    expect(result.main.exitCode).not.toBe(0)
    const files = await artifactOf(service, result)
    const report = JSON.parse(files['report.json']) as {
      result: string
      decidedBy: string
      builds: { context: string; status: string; failures: { name: string; log: string }[] }[]
      stages: Record<string, { durationMs: number; status: string }>
      envDiff: { verdicts: string[]; differences: { name: string; likelihood: string }[] }
      vm?: unknown
    }
    expect(report).toMatchObject({ result: 'build-failed', decidedBy: 'build' })
    expect(report.vm).toBeUndefined()
    const [host, devshell] = report.builds
    expect(host).toMatchObject({ context: 'host', status: 'passed', failures: [] })
    expect(devshell).toMatchObject({ context: 'devshell', status: 'build-failed' })
    expect(result.outputs['iso-path']).toMatch(/boot-image-vm-socket\.iso$/)

    // The failing derivation's whole log, with the socket error, in the artifact.
    expect(devshell.failures.map(f => f.name)).toEqual(['boot-image-vm-socket.iso'])
    const log = devshell.failures[0].log
    expect(log).toBe('build/devshell/failed/boot-image-vm-socket.iso.log')
    expect(files[log]).toContain('AF_UNIX path too long')
    expect(files[log]).toMatch(/nix-shell\.\w{6}\/nix-build-boot-image-vm-socket\.iso\.drv-0/)
    expect(JSON.parse(result.outputs['failed-drvs'])).toEqual([
      expect.objectContaining({ name: 'boot-image-vm-socket.iso', log })
    ])

    // The TMPDIR verdict with its numbers leads the env diff, in the report, diff.md and summary.
    const escaped = tmpdir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const verdict = new RegExp(
      `^builds in the devshell run in-process under ${escaped}/nix-shell\\.\\w{6}/, leaving (\\d+) bytes for socket paths \\(host: (\\d+)\\)$`
    )
    const [first] = report.envDiff.verdicts
    const numbers = verdict.exec(first)
    expect(numbers, first).not.toBeNull()
    const [devRoom, hostRoom] = [Number(numbers![1]), Number(numbers![2])]
    expect(hostRoom - devRoom).toBe(17)
    expect(devRoom).toBeLessThan(30) // xchg/vm-state/qmp-monitor.sock does not fit
    expect(hostRoom).toBeGreaterThanOrEqual(30)
    expect(files['env/diff.md']).toContain(first)
    expect(result.summary).toContain(first)
    // Most likely differences first, TMPDIR among them.
    const order = { high: 0, medium: 1, low: 2 } as Record<string, number>
    const ranks = report.envDiff.differences.map(d => order[d.likelihood])
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
    const tmp = report.envDiff.differences.find(d => d.name === 'TMPDIR')
    expect(tmp?.likelihood).toBe('high')

    // The summary leads with the disagreement, then the failing log's tail, then what differs.
    const lines = result.summary.split('\n').filter(line => line.trim())
    expect(lines[0]).toMatch(/build-failed/)
    expect(lines[1]).toMatch(/passes on the host, fails in the devshell/i)
    const at = (text: string): number => result.summary.indexOf(text)
    expect(at('AF_UNIX path too long')).toBeGreaterThan(0)
    expect(at('AF_UNIX path too long')).toBeLessThan(at(first))
    expect(at(first)).toBeLessThan(at('### Stages'))
    const table = result.summary.slice(at(first), at('### Stages'))
    const rows = table.split('\n').filter(line => /^\| `/.test(line))
    expect(rows[0]).toMatch(/\| high \|/)
    const tmpRow = rows.findIndex(row => row.startsWith('| `TMPDIR`'))
    const unlikely = rows.findIndex(row => /\| (medium|low) \|/.test(row))
    expect(tmpRow).toBeGreaterThanOrEqual(0)
    if (unlikely >= 0) expect(tmpRow).toBeLessThan(unlikely)

    // Nothing left in the user's TMPDIR by either nix develop (build stage or env capture).
    expect(shellDirs(tmpdir)).toEqual([])
    expectNoSecrets(result, files)
    expect(result.leftovers).toEqual([])
    expect(result.post.exitCode).toBe(0)

    // A figure, not an assertion: what the environment capture costs in a real run.
    const envMs = report.stages['env-diff'].durationMs
    console.log(
      `[bench] env-diff stage ${envMs} ms (capture ${files['env/diff.json'] ? JSON.parse(files['env/diff.json']).durationMs : '?'} ms); builds ${report.stages.build.durationMs} ms; main step ${result.main.durationMs} ms`
    )
  })

  it('build-in: devshell builds a passing image from inside the devshell, boots it, and passes', async () => {
    const tmpdir = tmpdirOf('devshell')
    const result = await run({ image: 'bootImage', 'build-in': 'devshell' }, tmpdir)
    expect(result.main.stderr).not.toMatch(/TypeError|ReferenceError/)
    expect(result.outputs.result).toBe('passed')
    expect(result.outputs['iso-path']).toMatch(/\.iso$/)
    const files = await artifactOf(service, result)
    const report = JSON.parse(files['report.json']) as {
      builds: { context: string; status: string }[]
      stages: Record<string, { durationMs: number }>
    }
    expect(report.builds).toEqual([
      expect.objectContaining({ context: 'devshell', status: 'passed' })
    ])
    expect(files['build/build.log']).toContain('(in nix develop bootImageTest)')
    expect(files['vm/serial.log']).toContain('boot-image-vm: ready')
    expect(shellDirs(tmpdir)).toEqual([])
    expectNoSecrets(result, files)
    expect(result.leftovers).toEqual([])
    console.log(
      `[bench] env-diff stage (devshell-only run) ${report.stages['env-diff'].durationMs} ms`
    )
  })
})
