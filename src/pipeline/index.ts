// The whole job as the mission states it: set up Nix, build the image with an ephemeral key, diff
// the build environment against the devshell, boot and probe the image. Composes the stages (each
// judges its own result: src/<stage>/judge.ts); report.json stays current after each one
// (run-record.ts) and the verdict is decided in one place (decide-verdict.ts).
import type { StageContext } from '../shared/context.js'
import type { Inputs } from '../inputs/index.js'
import { createEphemeralKey, providedKey } from '../shared/key.js'
import type { KvmCheck, NixInstallation, Report, SetupResult } from '../model/index.js'
import { judgeSetup } from '../setup/index.js'
import { STOPPED_FOR_QEMU } from '../build/index.js'
import { bootWhenQemuReady } from './boot-when-ready.js'
import { runBuilds } from './builds.js'
import { startEnvDiff } from './env-diff-beside.js'
import { qemuFailed, startQemuStage, type QemuState } from './qemu-beside.js'
import { RunRecord } from './run-record.js'
import { REAL_STAGES, type PipelineStages } from './stages.js'
import {
  BOOT_OFF,
  ISO_GIVEN,
  endRun,
  kvmCheck,
  stopBeside,
  type Beside,
  type PipelineHooks,
  type PipelineRun
} from './pipeline-run.js'

export { decideVerdict, type Verdict } from './decide-verdict.js'
export { buildContexts } from './builds.js'
export { BOOT_OFF, ISO_GIVEN, type PipelineHooks } from './pipeline-run.js'
export { REAL_STAGES, type PipelineStages } from './stages.js'

/** What setup's KVM wait gets when QEMU is not there yet (see setupStage). */
const KVM_NOT_CHECKED_YET: KvmCheck = {
  runsGuest: false,
  reason:
    'not checked before the build: QEMU is provisioned beside it (the kvm system feature only matters to derivations that require it)',
  durationMs: 0
}

export async function runPipeline(
  inputs: Inputs,
  ctx: StageContext,
  hooks: PipelineHooks = {},
  /** The stage entry points: the real ones unless a test gives its own. */
  stages: PipelineStages = REAL_STAGES
): Promise<Report> {
  const beside: Beside = { stopQemu: new AbortController() }
  // Every child of every stage gets its environment from this (src/shared/child-env.ts).
  const childEnv = { keyVar: inputs.rootKeyEnv, passEnv: inputs.passEnv }
  try {
    return await runStages(inputs, { ...ctx, childEnv }, hooks, beside, stages)
  } finally {
    // A stage that threw still leaves nothing behind.
    await stopBeside(beside)
  }
}

async function runStages(
  inputs: Inputs,
  ctx: StageContext,
  hooks: PipelineHooks,
  beside: Beside,
  stages: PipelineStages
): Promise<Report> {
  const record = new RunRecord(ctx.reportDir)
  // The user's key (input 'ssh-key') replaces the ephemeral one everywhere, and is masked the same.
  const key = inputs.sshKey
    ? providedKey(inputs.sshKey, ctx.tempDir)
    : createEphemeralKey(ctx.tempDir)
  ctx.secrets.add(key.privateKey)
  hooks.onKey?.(key)
  const run: PipelineRun = { inputs, ctx, hooks, beside, record, key, stages }

  // The nix source of QEMU waits for setup's Nix; a given ISO needs none (no setup runs).
  let nixReady: (nix: NixInstallation | undefined) => void = () => {}
  const setupNixPromise = new Promise<NixInstallation | undefined>(r => (nixReady = r))
  if (inputs.iso) nixReady(undefined)
  const buildStop = new AbortController()
  const qemu = await startQemuStage(run, () => setupNixPromise, buildStop)
  if (qemuFailed(run)) return endRun(run)
  if (inputs.iso) return bootGivenIso(run, qemu, inputs.iso)

  const setupRun = setupStage(run, qemu)
  setupRun.then(
    result => nixReady(result.ok ? result.nix : undefined),
    () => nixReady(undefined)
  )
  const setup = await setupRun
  const nix = setup.nix
  if (!setup.ok || !nix || ctx.signal.aborted || qemuFailed(run)) return endRun(run)

  const keyEnv = { [inputs.rootKeyEnv]: key.publicKeyPath }
  const buildCtx: StageContext = { ...ctx, signal: AbortSignal.any([ctx.signal, buildStop.signal]) }
  // The env diff runs beside the build and the boot: nobody waits for it but the report.
  if (inputs.devshell) beside.envDiff = startEnvDiff({ ...run, ctx: buildCtx }, nix, keyEnv)

  const builds = await runBuilds(run, nix, keyEnv, buildCtx)
  if (buildStop.signal.aborted && !ctx.signal.aborted) return stoppedForQemu(run)

  const iso = builds[0]?.isoPath
  if (!iso || builds.some(build => build.status !== 'passed') || ctx.signal.aborted) {
    return endRun(run)
  }
  if (!inputs.boot) {
    record.skip('boot', BOOT_OFF)
    return endRun(run)
  }
  return bootWhenQemuReady(run, qemu, iso, nix)
}

/** Input 'iso': no Nix, no build, no env diff, no cache; only the boot. */
function bootGivenIso(run: PipelineRun, qemu: QemuState, iso: string): Promise<Report> {
  for (const name of ['setup', 'build', 'env-diff'] as const) {
    run.record.skip(name, ISO_GIVEN)
  }
  run.record.cacheRestored({ status: 'disabled', detail: ISO_GIVEN })
  run.record.save()
  run.ctx.log.info(`Booting the given ISO ${iso}: no Nix, no build, no env diff, no cache.`)
  return bootWhenQemuReady(run, qemu, iso, undefined)
}

async function setupStage(run: PipelineRun, qemu: QemuState): Promise<SetupResult> {
  const { inputs, ctx, record, hooks, stages } = run
  const setup = await record.stage(
    ctx.log,
    'setup',
    'Set up Nix',
    () =>
      stages.setupNix(
        {
          mode: inputs.nix,
          nixVersion: inputs.nixVersion,
          extraNixConf: inputs.extraNixConf,
          githubToken: inputs.githubToken,
          // Where Nix's own system features lack kvm, setup waits for this verdict to add it.
          // With QEMU already found it is the real check (the VM reuses it); while QEMU is still
          // being provisioned, setup does not wait for it: the kvm feature only matters to
          // derivations that require it (a NixOS test, not an ISO), and blocking the build on
          // provisioning for it would put apt or nixpkgs' QEMU on the critical path. The real
          // check runs once QEMU exists, for the boot.
          checkKvm: () =>
            qemu.ready ? kvmCheck(run, qemu.ready) : Promise.resolve(KVM_NOT_CHECKED_YET)
        },
        ctx
      ),
    judgeSetup
  )
  record.setupDone(setup)
  hooks.onCleanupPaths?.(setup.cleanupPaths)
  hooks.onSetup?.(setup)
  return setup
}

/** Stopped for want of QEMU: what the killed build said is not the image's fault. */
function stoppedForQemu(run: PipelineRun): Promise<Report> {
  run.record.buildStopped(STOPPED_FOR_QEMU)
  return endRun(run)
}
