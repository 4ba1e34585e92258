// The pipeline's composition in-process (src/pipeline.ts, src/pipeline/*): which stages run, in
// what order and with what, and what the report's rows and verdict say, for a given ISO, input
// 'boot: false', a QEMU provisioning that fails, and a cancel during the build and the boot.
// The stages are stand-ins (tests/unit/stand-ins.ts) that answer at once: they cannot prove that
// the real setup, build, QEMU provisioning or boot produce these results, nor that a cancel kills
// their processes — the e2e tests (tests/e2e/*) run the real ones.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { parseInputs, type InputName } from '../../../src/inputs/index.js'
import type { Report } from '../../../src/model/index.js'
import {
  BOOT_OFF,
  ISO_GIVEN,
  runPipeline,
  type PipelineHooks,
  type PipelineStages
} from '../../../src/pipeline/index.js'
import { STOPPED_FOR_QEMU } from '../../../src/build/index.js'
import { Secrets } from '../../../src/shared/secrets.js'
import {
  builtIso,
  fakeIso,
  qemuReady,
  recordingLog,
  standInStages,
  VM_PASSED
} from '../stand-ins.js'

const scratch = mkdtempSync(join(tmpdir(), 'pipeline-in-process-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const iso = fakeIso(scratch)

function inputs(given: Partial<Record<InputName, string>> = {}) {
  // arch given: the guest is x86_64 on any runner, so no test depends on the machine's.
  return parseInputs(name => ({ arch: 'x86_64', ...given })[name] ?? '')
}

function context(signal = new AbortController().signal): StageContext {
  const dir = mkdtempSync(join(scratch, 'run-'))
  return {
    log: recordingLog(),
    secrets: new Secrets(),
    reportDir: join(dir, 'report'),
    tempDir: join(dir, 'work'),
    env: {},
    signal
  }
}

async function run(
  given: Partial<Record<InputName, string>>,
  overrides: Partial<PipelineStages> = {},
  ctx = context()
) {
  const standIns = standInStages(iso, overrides)
  const hooks: Required<PipelineHooks> & { seen: string[] } = {
    seen: [],
    onKey: () => void hooks.seen.push('key'),
    onCleanupPaths: paths => void hooks.seen.push(`cleanup ${paths.join(',')}`),
    onQemuStarted: pid => void hooks.seen.push(`qemu ${pid}`),
    onCacheSave: () => void hooks.seen.push('cache save'),
    onSetup: setup => void hooks.seen.push(`setup ${setup.ok}`)
  }
  const report = await runPipeline(inputs(given), ctx, hooks, standIns.stages)
  const written = JSON.parse(readFileSync(join(ctx.reportDir, 'report.json'), 'utf8')) as Report
  return { report, written, standIns, hooks, ctx }
}

/** What the report.json on disk says is what the pipeline returned. */
function expectWritten(report: Report, written: Report): void {
  expect(written.result).toBe(report.result)
  expect(written.stages).toEqual(report.stages)
  expect(written.complete).toBe(true)
}

describe('a run that builds and boots', () => {
  it('runs setup, the cache restore, the build, the env diff and the boot, and passes', async () => {
    // devshell given: the env diff runs beside the build.
    const { report, written, standIns, hooks } = await run({ devshell: 'ci' })
    expect(standIns.called()).toEqual(
      expect.arrayContaining([
        'qemuFromPath',
        'setupNix',
        'restoreImageCache',
        'buildImage',
        'diffBuildEnvironment',
        'runVm'
      ])
    )
    const order = standIns.called()
    expect(order.indexOf('setupNix')).toBeLessThan(order.indexOf('buildImage'))
    expect(order.indexOf('buildImage')).toBeLessThan(order.indexOf('runVm'))
    // The VM boots the ISO the build made, with the QEMU provisioned.
    const [vmRequest] = standIns.argsOf('runVm')[0]
    expect(vmRequest).toMatchObject({ iso, qemu: '/stand-in/bin/qemu-system-x86_64' })
    expect(report).toMatchObject({ result: 'passed', decidedBy: null, complete: true })
    for (const stage of ['setup', 'qemu', 'build', 'env-diff', 'boot'] as const) {
      expect(report.stages[stage]?.status, stage).toBe('passed')
    }
    expect(report.cache?.status).toBe('miss')
    // The boot's wait for QEMU is on the report's QEMU record.
    expect(report.qemu).toMatchObject({ status: 'ready', bootWaitedMs: expect.any(Number) })
    expect(report.builds).toHaveLength(1)
    expect(hooks.seen).toEqual(['key', 'cleanup /stand-in/work/nix.conf', 'setup true'])
    expectWritten(report, written)
  })

  it('stops after a failed setup: no build, no boot, setup-failed', async () => {
    const { report, standIns } = await run(
      {},
      {
        setupNix: async () => ({
          ok: false,
          error: 'stand-in: no Nix',
          changes: [],
          cleanupPaths: [],
          kvm: { action: 'not looked at', deviceUsable: false }
        })
      }
    )
    expect(standIns.called()).not.toContain('buildImage')
    expect(standIns.called()).not.toContain('runVm')
    expect(report).toMatchObject({ result: 'setup-failed', decidedBy: 'setup', complete: true })
    expect(report.stages.setup).toMatchObject({ status: 'failed', detail: 'stand-in: no Nix' })
  })

  it('builds in both contexts, each with its own key, and boots the first one', async () => {
    const { report, standIns } = await run({ 'build-in': 'both', devshell: 'ci' })
    const builds = standIns.argsOf('buildImage').map(([, request]) => request)
    expect(builds.map(build => build.context)).toEqual(['host', 'devshell'])
    expect(builds[0].env).not.toEqual(builds[1].env)
    expect(report.builds.map(build => build.context)).toEqual(['host', 'devshell'])
    expect(report.result).toBe('passed')
  })
})

describe("input 'iso'", () => {
  it('boots the given ISO only: no setup, build, env diff or cache; their rows say why', async () => {
    const { report, written, standIns } = await run({ iso })
    for (const absent of [
      'setupNix',
      'restoreImageCache',
      'buildImage',
      'devshellEnvPath',
      'diffBuildEnvironment'
    ])
      expect(standIns.called(), absent).not.toContain(absent)
    expect(standIns.argsOf('runVm')).toHaveLength(1)
    expect(standIns.argsOf('runVm')[0][0].iso).toBe(iso)
    // QEMU is provisioned without Nix: the request says so.
    expect(standIns.argsOf('qemuFromPath')[0][0].noNix).toBe(ISO_GIVEN)
    for (const stage of ['setup', 'build', 'env-diff'] as const) {
      expect(report.stages[stage], stage).toEqual({
        status: 'skipped',
        durationMs: 0,
        detail: ISO_GIVEN
      })
    }
    expect(report.cache).toEqual({ status: 'disabled', detail: ISO_GIVEN })
    expect(report.stages.boot?.status).toBe('passed')
    expect(report).toMatchObject({ result: 'passed', complete: true })
    expectWritten(report, written)
  })

  it('reports a failed boot of the given ISO as boot-failed', async () => {
    const { report } = await run(
      { iso },
      {
        runVm: async () => ({
          boot: { status: 'failed', error: 'stand-in: no login', timeline: [], screenshots: [] },
          probes: []
        })
      }
    )
    expect(report).toMatchObject({ result: 'boot-failed', decidedBy: 'boot', complete: true })
  })
})

describe("input 'boot: false'", () => {
  it('builds, provisions no QEMU and runs no VM; qemu and boot rows say why', async () => {
    const { report, written, standIns } = await run({ boot: 'false' })
    expect(standIns.called()).toContain('buildImage')
    for (const absent of ['qemuFromPath', 'provisionQemu', 'checkKvm', 'runVm'])
      expect(standIns.called(), absent).not.toContain(absent)
    expect(report.stages.qemu).toEqual({ status: 'skipped', durationMs: 0, detail: BOOT_OFF })
    expect(report.stages.boot).toEqual({ status: 'skipped', durationMs: 0, detail: BOOT_OFF })
    expect(report.stages.build?.status).toBe('passed')
    expect(report.qemu).toBeUndefined()
    expect(report).toMatchObject({ result: 'passed', complete: true })
    expectWritten(report, written)
  })
})

describe('a QEMU provisioning that fails', () => {
  it('stops the build it ran beside: setup-failed, decided by qemu, the rows say why', async () => {
    let buildStarted: () => void = () => {}
    const started = new Promise<void>(resolve => (buildStarted = resolve))
    let buildSignal: AbortSignal | undefined
    const { report, written, standIns } = await run(
      {},
      {
        qemuFromPath: async () => ({
          source: 'path',
          outcome: 'failed',
          reason: 'stand-in: not on PATH',
          durationMs: 0
        }),
        // Fails once the build runs, as a slow apt-get would.
        provisionQemu: async (request, _ctx, _signals, earlier = []) => {
          await started
          return {
            status: 'failed',
            mode: request.mode,
            arch: request.arch,
            attempts: [
              ...earlier,
              { source: 'apt', outcome: 'failed', reason: 'stand-in: no package', durationMs: 0 }
            ],
            error: 'stand-in: no source could provide QEMU',
            readyAfterMs: 0
          }
        },
        // A build that runs until its signal stops it, as nix does when killed.
        buildImage: async (_nix, request, ctx) => {
          buildSignal = ctx.signal
          buildStarted()
          await new Promise(resolve => ctx.signal.addEventListener('abort', resolve))
          return { ...builtIso(iso, request.context), status: 'build-failed', isoPath: undefined }
        }
      }
    )
    expect(buildSignal?.aborted).toBe(true)
    expect(standIns.called()).not.toContain('runVm')
    expect(report).toMatchObject({ result: 'setup-failed', decidedBy: 'qemu', complete: true })
    expect(report.cancelled).toBeUndefined()
    expect(report.stages.qemu?.status).toBe('failed')
    expect(report.stages.build).toMatchObject({ status: 'skipped', detail: STOPPED_FOR_QEMU })
    // What the killed build said is not the image's fault: it is not in the report.
    expect(report.builds).toEqual([])
    expect(report.qemu?.error).toBe('stand-in: no source could provide QEMU')
    expectWritten(report, written)
  })

  it("qemu: 'path' with none on PATH: setup-failed before any build", async () => {
    const { report, standIns } = await run(
      { qemu: 'path' },
      {
        qemuFromPath: async request => ({
          ...qemuReady(request.arch),
          mode: 'path',
          status: 'failed',
          binary: undefined,
          error: "stand-in: No source could provide QEMU (input 'qemu' is 'path')"
        })
      }
    )
    for (const absent of ['setupNix', 'restoreImageCache', 'buildImage', 'runVm'])
      expect(standIns.called(), absent).not.toContain(absent)
    expect(report).toMatchObject({ result: 'setup-failed', decidedBy: 'qemu', complete: true })
    expect(report.builds).toEqual([])
    expect(report.stages.build).toBeUndefined()
    expect(report.stages.qemu?.status).toBe('failed')
  })

  it('with a given ISO: no boot, setup-failed, decided by qemu', async () => {
    const { report, standIns } = await run(
      { iso, qemu: 'path' },
      {
        qemuFromPath: async request => ({
          ...qemuReady(request.arch),
          status: 'failed',
          binary: undefined,
          error: 'stand-in: no QEMU on PATH'
        })
      }
    )
    expect(standIns.called()).not.toContain('runVm')
    expect(report).toMatchObject({ result: 'setup-failed', decidedBy: 'qemu', complete: true })
  })
})

describe('a cancel', () => {
  it('during the build: no boot, the report complete and cancelled, build-failed', async () => {
    const cancel = new AbortController()
    const { report, written, standIns } = await run(
      {},
      {
        buildImage: async (_nix, request) => {
          cancel.abort()
          return { ...builtIso(iso, request.context), status: 'build-failed', isoPath: undefined }
        }
      },
      context(cancel.signal)
    )
    expect(standIns.called()).not.toContain('runVm')
    expect(report).toMatchObject({
      result: 'build-failed',
      decidedBy: 'build',
      complete: true,
      cancelled: true
    })
    expect(report.stages.build).toMatchObject({ status: 'failed' })
    expect(report.stages.build?.detail).toContain('cancelled')
    expectWritten(report, written)
    expect(written.cancelled).toBe(true)
  })

  it('during a build that still passed: no boot, build-failed (a cancelled run never passes)', async () => {
    const cancel = new AbortController()
    const { report, standIns } = await run(
      {},
      {
        buildImage: async (_nix, request) => {
          cancel.abort()
          return builtIso(iso, request.context)
        }
      },
      context(cancel.signal)
    )
    expect(standIns.called()).not.toContain('runVm')
    expect(report).toMatchObject({ result: 'build-failed', cancelled: true, complete: true })
  })

  it('during the boot: the report complete and cancelled, boot-failed', async () => {
    const cancel = new AbortController()
    const { report, written } = await run(
      {},
      {
        runVm: async () => {
          cancel.abort()
          return {
            boot: { status: 'failed', error: 'cancelled', timeline: [], screenshots: [] },
            probes: []
          }
        }
      },
      context(cancel.signal)
    )
    expect(report).toMatchObject({
      result: 'boot-failed',
      decidedBy: 'boot',
      complete: true,
      cancelled: true
    })
    expect(report.stages.build?.status).toBe('passed')
    expectWritten(report, written)
  })

  it('while the test command runs: test-failed, cancelled', async () => {
    const cancel = new AbortController()
    const { report } = await run(
      { 'test-command': 'sleep 600' },
      {
        runVm: async () => {
          cancel.abort()
          return {
            ...VM_PASSED,
            test: { exitCode: null, timedOut: false, durationMs: 1, file: 'test/output.log' }
          }
        }
      },
      context(cancel.signal)
    )
    expect(report).toMatchObject({
      result: 'test-failed',
      decidedBy: 'test',
      complete: true,
      cancelled: true
    })
  })

  it('during the boot of a given ISO: boot-failed', async () => {
    const cancel = new AbortController()
    const { report } = await run(
      { iso },
      {
        runVm: async () => {
          cancel.abort()
          return { boot: { status: 'passed', timeline: [], screenshots: [] }, probes: [] }
        }
      },
      context(cancel.signal)
    )
    expect(report).toMatchObject({ result: 'boot-failed', cancelled: true, complete: true })
  })
})
