// QEMU's provisioning beside setup and the build: the path source at once, the rest of the mode's
// sources beside. A provisioning that fails stops the build: an image that cannot be booted is not
// worth waiting for.
import type { Inputs } from '../inputs/index.js'
import { guestArchitecture } from '../iso/iso-arch.js'
import type { GuestArch, NixInstallation, QemuProvision } from '../model/index.js'
import { judgeQemu, type QemuRequest } from '../qemu-provisioning/index.js'
import { hostArch, isNative } from '../vm/index.js'
import { BOOT_OFF, ISO_GIVEN, kvmCheck, type PipelineRun } from './pipeline-run.js'

/** What the rest of the run knows of QEMU while it is provisioned. */
export interface QemuState {
  /** The binary, as soon as one is known (the path source) and it can run the KVM check. */
  ready?: string
  settled: boolean
  /** Provisions anew for another guest architecture (the built image's, when not the one guessed). */
  reprovision?: (arch: GuestArch) => Promise<QemuProvision>
}

/**
 * The guest architecture to provision for before the image exists: input 'arch', else a given
 * ISO's own, else the runner's (most images are built for the machine that boots them).
 */
export function expectedArch(inputs: Inputs): GuestArch {
  if (inputs.arch !== 'auto' || inputs.iso) return guestArchitecture(inputs.arch, inputs.iso).arch
  return hostArch() ?? 'x86_64'
}

/** The provisioned binary when it is the host's own QEMU: the only one that runs the KVM check. */
function nativeBinary(provision: QemuProvision): string | undefined {
  const native = provision.status === 'ready' && isNative(provision.arch ?? 'x86_64')
  return native ? provision.binary : undefined
}

export async function startQemuStage(
  run: PipelineRun,
  nix: () => Promise<NixInstallation | undefined>,
  buildStop: AbortController
): Promise<QemuState> {
  const { inputs, record } = run
  // Without a boot (input 'boot' false) no QEMU is provisioned at all.
  if (!inputs.boot) {
    record.skip('qemu', BOOT_OFF)
    return { settled: true }
  }
  const state: QemuState = { settled: false }
  const settle = (provision: QemuProvision): void => {
    record.qemuSettled(provision, judgeQemu(provision))
    const native = nativeBinary(provision)
    if (native) void kvmCheck(run, native)
    // The build's nix and the env diff's end here: their runs take this stop as their signal.
    if (provision.status === 'failed') buildStop.abort()
    record.save()
  }
  await startQemu(run, nix, state, expectedArch(inputs), settle)
  state.reprovision = async arch => {
    state.settled = false
    await startQemu(run, nix, state, arch, settle)
    return run.beside.qemu!
  }
  if (inputs.qemu === 'path') await run.beside.qemu
  return state
}

/** Set by the provisioning's handler whenever it settles, so read anew at each point. */
export function qemuFailed(run: PipelineRun): boolean {
  return run.record.report.qemu?.status === 'failed'
}

async function startQemu(
  run: PipelineRun,
  nix: () => Promise<NixInstallation | undefined>,
  state: QemuState,
  arch: GuestArch,
  settle: (provision: QemuProvision) => void
): Promise<void> {
  const { inputs, ctx, beside, stages } = run
  const request: QemuRequest = {
    mode: inputs.qemu,
    arch,
    firmware: inputs.firmware,
    flake: inputs.flake,
    startedAt: run.record.startedAt,
    nix,
    // A given ISO needs no Nix: the nix source of QEMU is passed over.
    noNix: inputs.iso ? ISO_GIVEN : undefined
  }
  const early = await stages.qemuFromPath(request, ctx)
  if ('status' in early) state.ready = nativeBinary(early)
  const provisioning =
    'status' in early
      ? Promise.resolve(early)
      : stages.provisionQemu(request, ctx, { stop: beside.stopQemu.signal, cancel: ctx.signal }, [
          early
        ])
  beside.qemu = provisioning.then(provision => {
    state.settled = true
    settle(provision)
    return provision
  })
}
