// The test command and the job's later steps get the action's Nix (issue 13), through the bundled
// action in the runner harness.
//
// How the case is built, honestly: this machine's Nix is /usr/bin/nix, on every PATH. The step's
// PATH here is a directory of links to every host tool EXCEPT nix and nix-* (bash, QEMU, git, …
// stay reachable), so the step cannot run `nix` by name. Setup then finds Nix at a location it
// knows off PATH (/usr/bin/nix, in defaultSetupPaths), as it finds an installer's
// /nix/var/nix/profiles/default/bin/nix on a runner. What passes proves that the test command got
// Nix's directory and the action's NIX_USER_CONF_FILES from setup, not from the job's PATH.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  artifactOf,
  jobLog,
  startResultsService,
  LAB_BOOT_INPUTS
} from '../helpers/e2e.js'
import { mainOf, toolsWithoutNix, waitForProcess } from '../helpers/processes.js'
import { addFixturePackage, makeFixtureFlake } from '../helpers/lab.js'

const NIX_DIR = '/usr/bin'
let service: FakeResultsService
let flake: string
let pathWithoutNix: string
const runs: ActionRun[] = []
const nonce = `nix-env-slow-${Date.now()}`

beforeAll(async () => {
  service = await startResultsService()
  flake = makeFixtureFlake()
  // A build that is still running when main is killed.
  addFixturePackage(
    flake,
    'slowBuild',
    `drv { name = "boot-image-vm-slow"; nonce = "${nonce}"; ` +
      'args = [ "-c" "echo slow build started; sleep 300; mkdir $out" ]; }'
  )
  pathWithoutNix = toolsWithoutNix()
})
afterAll(async () => {
  await service.close()
  await Promise.all(runs.map(run => run.cleanup()))
  rmSync(join(pathWithoutNix, '..'), { recursive: true, force: true })
})

async function run(
  inputs: Record<string, string>,
  options: Partial<Parameters<typeof runAction>[0]> = {}
): Promise<ActionRun> {
  const result = await runAction({
    inputs: { ...LAB_BOOT_INPUTS, flake, devshell: '', ...inputs },
    env: { ...LAB_ACTION_ENV, PATH: pathWithoutNix, GITHUB_JOB: `nix-env-${runs.length}` },
    // `.#bootImageTest` in the test command is the fixture flake: it is the workspace.
    workspace: flake,
    resultsService: service,
    ...options
  })
  runs.push(result)
  return result
}

function expectExported(result: ActionRun): void {
  const home = process.env.HOME ?? ''
  // Nix's own directory first, then the user's profile, as install-nix-action gives them.
  expect(result.path.slice(-2)).toEqual([join(home, '.nix-profile/bin'), NIX_DIR])
  expect(result.env.NIX_USER_CONF_FILES).toMatch(/\/nix\/nix\.conf(:|$)/)
  expect(result.env.NIX_USER_CONF_FILES.split(':')[0]).toContain(result.runnerTemp)
}

describe("the action's Nix for the test command and later steps", () => {
  it('the test command runs nix and nix develop with a PATH that lacks Nix', async () => {
    expect(existsSync(join(pathWithoutNix, 'nix'))).toBe(false)
    const result = await run({
      probes: BUSYBOX_PROBES,
      'test-command':
        'nix --version && nix develop .#bootImageTest -c true && ' +
        'echo "conf=$NIX_USER_CONF_FILES" && command -v nix'
    })
    expect(result.outputs.result, jobLog(result)).toBe('passed')
    const files = await artifactOf(service, result)
    const output = files['test/output.log']
    expect(output).toMatch(/^nix \(Nix\) \d+\.\d+/m)
    expect(output).toMatch(/^conf=.*\/nix\/nix\.conf/m)
    expect(output).toMatch(new RegExp(`^${NIX_DIR}/nix$`, 'm'))
    expect(JSON.parse(files['report.json']).setup.nix.nixPath).toBe(`${NIX_DIR}/nix`)
    expectExported(result)
    expect(result.post.exitCode).toBe(0)
  }, 400_000)

  it('a main killed after setup has already exported them for later steps', async () => {
    const pending = run({ image: 'slowBuild', probes: BUSYBOX_PROBES })
    // The build only starts once setup has succeeded: kill main (SIGKILL: nothing of it runs
    // after) as soon as the build's nix is there.
    const build = await waitForProcess([`${flake}#slowBuild\0`])
    process.kill(mainOf(build), 'SIGKILL')
    const result = await pending
    // The builder (Nix cleared its environment, so the runner's orphan clean-up cannot see it).
    killBuilder()
    expect(result.main.signal, jobLog(result)).toBe('SIGKILL')
    // Setup's record is there: the kill came after it, during the build.
    const report = readReport(result)
    expect(report.stages?.setup?.status).toBe('passed')
    // Main never finished it: post completed it (src/report/interrupted.ts).
    expect(report.complete).toBe(true)
    expect(report.error).toMatch(/post step completed this report/)
    expectExported(result)
  }, 400_000)
})

describe('nix-version with a Nix already here (issue 13)', () => {
  it('is checked, and a different version is a warning that names nix: install', async () => {
    // This machine's Nix is not 2.35.2. A missing attribute ends the run right after setup.
    const result = await run({ image: 'noSuchImage', 'nix-version': '2.35.2' })
    expect(result.outputs.result, jobLog(result)).toBe('eval-failed')
    const warning = result.annotations.find(
      a => a.level === 'warning' && a.title === 'nix-version not used'
    )
    expect(warning?.message, jobLog(result)).toMatch(
      /nix-version asks for Nix 2\.35\.2, but the Nix already here \(\/usr\/bin\/nix\) is .*'nix: install'/
    )
    expect(result.post.exitCode).toBe(0)
  }, 400_000)
})

/** Kills the slowBuild builder left by the SIGKILLed main and its nix (found by its nonce). */
function killBuilder(): void {
  for (const pid of readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(nonce)) {
        process.kill(Number(pid), 'SIGKILL')
      }
    } catch {
      // gone
    }
  }
}

function readReport(result: ActionRun): {
  complete?: boolean
  error?: string
  stages?: Record<string, { status: string }>
} {
  const base = readdirSync(result.runnerTemp).find(name => name.startsWith('boot-image-vm-'))
  expect(base, `a report directory in ${result.runnerTemp}`).toBeDefined()
  return JSON.parse(readFileSync(join(result.runnerTemp, base!, 'report', 'report.json'), 'utf8'))
}
