// What every part of the composition shares: the inputs, the context, post's hooks, the record,
// the key, and what runs beside the stages.
import type { StageContext } from '../shared/context.js'
import type { Inputs } from '../inputs/index.js'
import type { EphemeralKey } from '../shared/key.js'
import type { KvmCheck, QemuProvision, Report, SetupResult } from '../model/index.js'
import type { CacheSaveState } from '../cache/index.js'
import type { RunRecord } from './run-record.js'
import type { PipelineStages } from './stages.js'
import { allowedEnv } from '../shared/child-env.js'

export interface PipelineHooks {
  /** The key exists: post must delete its directory. */
  onKey?(key: EphemeralKey): void
  /** Files the setup stage created that post must delete. */
  onCleanupPaths?(paths: string[]): void
  /** QEMU runs: post must stop it if main could not. */
  onQemuStarted?(pid: number): void
  /** What the post step needs to save the image cache. */
  onCacheSave?(state: CacheSaveState): void
  /** Setup is done: later steps may get its Nix now (a crash or cancel later still leaves it). */
  onSetup?(setup: SetupResult): void
}

/**
 * What runs beside the stages: QEMU's provisioning, the KVM check (once QEMU exists) and the env
 * diff. Each promise never rejects, and every path out of the run awaits all of them: none of
 * their processes (a QEMU, a nix, an apt-get) outlives the run.
 */
export interface Beside {
  qemu?: Promise<QemuProvision>
  kvm?: Promise<KvmCheck>
  envDiff?: Promise<void>
  /** Aborted when nobody needs QEMU any more (a failed build, the end of the run). */
  stopQemu: AbortController
}

export interface PipelineRun {
  inputs: Inputs
  ctx: StageContext
  hooks: PipelineHooks
  beside: Beside
  record: RunRecord
  key: EphemeralKey
  /** The stage entry points (the real ones, or a test's). */
  stages: PipelineStages
}

/** The reason for every stage that input 'iso' leaves out. */
export const ISO_GIVEN = "input 'iso' given"
/** The reason for the stages that input 'boot: false' leaves out. */
export const BOOT_OFF = "input 'boot' is false"

/** The run's one KVM check, with the first QEMU there is (input 'kvm: off': none). */
export function kvmCheck(run: PipelineRun, qemu: string): Promise<KvmCheck> {
  return (run.beside.kvm ??=
    run.inputs.kvm === 'off'
      ? Promise.resolve({
          runsGuest: false,
          reason: "not checked: input 'kvm' is off",
          durationMs: 0
        })
      : run.stages.checkKvm({ qemu, env: allowedEnv(run.ctx) }))
}

/** Stop what runs beside the stages and wait for it: provisioning first (it may start the KVM check). */
export async function stopBeside(beside: Beside): Promise<void> {
  beside.stopQemu.abort()
  await beside.qemu
  await beside.kvm
  await beside.envDiff
}

/** Every way out: whatever runs beside is stopped or awaited, and its results are in the report. */
export async function endRun(run: PipelineRun): Promise<Report> {
  await stopBeside(run.beside)
  return run.record.finish(run.ctx.signal)
}
