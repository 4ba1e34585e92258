// Boots that real consoles end (issue 23), through the bundled action in the harness: ISOs whose
// /init prints a real NixOS stage-1 failure or a real systemd emergency mode
// (tests/fixtures/real/console/) and then waits as those boots did, and one whose /init reboots.
// Each must end as boot-failed within seconds of its line, not at boot-timeout, with its own cause
// first in the summary and in report.json, and the console quoted around it.
import { spawnSync } from 'node:child_process'
import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import { LAB_ACTION_ENV, artifactOf, jobLog, startResultsService } from '../helpers/e2e.js'
import { REPO_ROOT, makeFixtureFlake } from '../helpers/lab.js'

const TEST_TIMEOUT = 400_000
/**
 * How long the boot stage may take: far under the boot-timeout these boots used to wait for. The
 * issue's bound is 60 s; under TCG on a loaded 2-core machine the guest alone needs 30–60 s to
 * print its line, so the bound that says "ended on its line" is the next one.
 */
const BOOT_STAGE_MS = 120_000
/** From the console's line to the end of the boot stage: the settle, the screenshot, teardown. */
const AFTER_THE_LINE_MS = 20_000
/** How much of the job summary a person sees first. */
const FIRST_SCREEN = 1_500

let service: FakeResultsService
let flake: string
const runs: ActionRun[] = []

beforeAll(async () => {
  service = await startResultsService()
  flake = makeFixtureFlake()
  // The replayed consoles: the flake's replay attributes read them from real-console/.
  cpSync(join(REPO_ROOT, 'tests', 'fixtures', 'real', 'console'), join(flake, 'real-console'), {
    recursive: true
  })
  for (const args of [
    ['add', 'real-console'],
    ['commit', '-qm', 'the real consoles']
  ]) {
    const git = spawnSync('git', args, { cwd: flake, encoding: 'utf8' })
    expect(git.status, git.stderr).toBe(0)
  }
})
afterAll(async () => {
  await service.close()
  await Promise.all(runs.map(run => run.cleanup()))
})

interface Ended {
  report: {
    result: string
    stages: { boot: { status: string; durationMs: number; detail: string } }
    vm: {
      boot: {
        error: string
        consoleFailure?: { kind: string; cause: string; seconds: number; excerpt: string }
        timeline: { name: string; label?: string }[]
      }
    }
  }
  summary: string
  serial: string
}

/** Runs the action on one image with a boot-timeout far above the bound; what it reported. */
async function boot(image: string): Promise<Ended> {
  const run = await runAction({
    resultsService: service,
    inputs: {
      flake,
      image,
      memory: '512',
      'boot-timeout': '300',
      probes: 'kernel: uname -a',
      // What the fixture flake reads (an action without the pass-env input ignores it).
      'pass-env': 'BOOT_IMAGE_VM_LAB_KERNEL'
    },
    env: LAB_ACTION_ENV
  })
  runs.push(run)
  const files = await artifactOf(service, run)
  const said = `${jobLog(run).slice(-3000)}\nbuild.log: ${(files['build/build.log'] ?? '').slice(-3000)}`
  expect(run.outputs.result, said).toBe('boot-failed')
  expect(run.leftovers).toEqual([])
  return {
    report: JSON.parse(files['report.json']),
    summary: files['summary.md'] ?? run.summary,
    serial: files['vm/serial.log']
  }
}

/** The boot ended on its console within the bound, with the cause first and the console quoted. */
function expectEndedByConsole(ended: Ended, kind: string, cause: RegExp): void {
  const { report, summary } = ended
  const boot = report.vm.boot
  expect(boot.consoleFailure?.kind, boot.error).toBe(kind)
  expect(boot.consoleFailure?.cause).toMatch(cause)
  expect(boot.error).toMatch(cause)
  expect(boot.error).not.toContain("input 'boot-timeout'")
  // The boot stage is QEMU from its start to the line, then the rest (the pipeline checked KVM
  // beside the build, before it).
  const stage = report.stages.boot.durationMs
  const afterLine = stage - boot.consoleFailure!.seconds * 1000
  console.info(`${kind}: line at +${boot.consoleFailure!.seconds} s, boot stage ${stage} ms`)
  expect(stage, report.stages.boot.detail).toBeLessThan(BOOT_STAGE_MS)
  expect(afterLine).toBeLessThan(AFTER_THE_LINE_MS)
  const first = summary.slice(0, FIRST_SCREEN)
  expect(first, summary.slice(0, 3000)).toMatch(cause)
  expect(first).toContain(boot.consoleFailure!.excerpt.split('\n')[0])
}

describe('boots that real consoles end', () => {
  it(
    'a NixOS stage-1 failure prompt: boot-failed at once, naming the missing stage 2 init',
    async () => {
      const ended = await boot('stage1FailureImage')
      expect(ended.serial).toContain('*) to ignore the error and continue')
      expectEndedByConsole(
        ended,
        'nixos-stage-1',
        /NixOS stage 1 failed: state 2 init script \(\/mnt-root\/\/nix\/store\/zr9pd87311q94dp3n103r6chx3dk64sw-nixos-system-debian-22\.05\.3935\.b3a8f7ed267\/init\) not found/
      )
      const { excerpt } = ended.report.vm.boot.consoleFailure!
      expect(excerpt).toContain('An error occurred in stage 1 of the boot process')
      expect(excerpt).toContain('r) to reboot immediately')
      const init = ended.report.vm.boot.timeline.find(m => m.name === 'init')
      expect(init).toBeDefined()
    },
    TEST_TIMEOUT
  )

  it(
    'systemd’s emergency mode: boot-failed at once, naming the mount, its network not counted',
    async () => {
      const ended = await boot('emergencyImage')
      expect(ended.serial).toContain('[  OK  ] Reached target Network.')
      expectEndedByConsole(
        ended,
        'emergency-mode',
        /systemd entered emergency mode after: Failed to mount \/home \(then: Dependency failed for Local File Systems\)/
      )
      const phases = ended.report.vm.boot.timeline.map(m => m.name)
      expect(phases).not.toContain('network')
    },
    TEST_TIMEOUT
  )

  it(
    'a guest that reboots: boot-failed at its first reboot, named as a reboot',
    async () => {
      const ended = await boot('rebootLoopImage')
      expect(ended.serial).toContain('reboot: Restarting system')
      expectEndedByConsole(
        ended,
        'reboot',
        /the guest rebooted before SSH answered .*the console before it: boot-image-vm: rebooting now \(rebootLoopImage fixture\)/
      )
    },
    TEST_TIMEOUT
  )
})
