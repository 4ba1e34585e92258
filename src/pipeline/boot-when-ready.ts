// Boot, probes and the test command once QEMU is provisioned; their records in the report.
import type { Inputs } from '../inputs/index.js'
import { guestArchitecture } from '../iso/iso-arch.js'
import type { GuestPlatform, NixInstallation, QemuProvision, Report } from '../model/index.js'
import { nixStepEnv, withNixStepEnv } from '../setup/index.js'
import { guestPlatform, judgeVm, qemuBinary, type OvmfFiles } from '../vm/index.js'
import type { QemuState } from './qemu-beside.js'
import { endRun, kvmCheck, type PipelineRun } from './pipeline-run.js'

/** Boot `iso` once QEMU is provisioned: ready by now unless provisioning is slower than the build. */
export async function bootWhenQemuReady(
  run: PipelineRun,
  qemu: QemuState,
  iso: string,
  /** Undefined for a given ISO: the test command then runs with the job's own environment. */
  nix: NixInstallation | undefined
): Promise<Report> {
  const waitStarted = Date.now()
  if (!qemu.settled) run.ctx.log.info('The image is ready; waiting for QEMU to be provisioned.')
  const read = guestArchitecture(run.inputs.arch, iso)
  const guest = guestPlatform(read.arch, read.evidence)
  const provision = await provisionedFor(run, qemu, guest)
  if (provision?.status !== 'ready' || !provision.binary || run.ctx.signal.aborted) {
    return endRun(run)
  }
  run.record.qemuWaited(provision, Date.now() - waitStarted)
  run.record.save()
  await bootStage(run, iso, { binary: provision.binary, ovmf: provision.ovmf, guest }, nix)
  return endRun(run)
}

/** The provisioned QEMU, provisioned anew when the image turns out to be for another architecture. */
async function provisionedFor(
  run: PipelineRun,
  qemu: QemuState,
  guest: GuestPlatform
): Promise<QemuProvision | undefined> {
  const provision = await run.beside.qemu
  const provisionedArch = provision?.arch ?? 'x86_64'
  if (provision?.status !== 'ready' || provisionedArch === guest.arch || !qemu.reprovision) {
    return provision
  }
  run.ctx.log.info(
    `The image is ${guest.arch} (${guest.evidence}); QEMU was provisioned for ${provisionedArch}: ` +
      `provisioning ${qemuBinary(guest.arch)} now.`
  )
  return qemu.reprovision(guest.arch)
}

async function bootStage(
  run: PipelineRun,
  iso: string,
  qemu: { binary: string; ovmf?: OvmfFiles; guest: GuestPlatform },
  nix: NixInstallation | undefined
): Promise<void> {
  const { inputs, ctx, record } = run
  const vmStarted = Date.now()
  const vm = await run.stages.runVm(
    {
      iso,
      guest: qemu.guest,
      firmware: inputs.firmware,
      qemu: qemu.binary,
      ovmf: qemu.ovmf,
      memoryMiB: inputs.memoryMiB,
      cpus: inputs.cpus,
      kvm: inputs.kvm,
      // KVM runs only guests of the host's architecture: no check for an emulated one.
      kvmCheck:
        inputs.kvm === 'off' || qemu.guest.emulated ? undefined : await kvmCheck(run, qemu.binary),
      bootTimeoutSeconds: inputs.bootTimeoutSeconds,
      privateKeyPath: run.key.privateKeyPath,
      keyRefusedHint: keyRefusedHint(inputs),
      probes: inputs.probes,
      testCommand: inputs.testCommand,
      testTimeoutSeconds: inputs.testTimeoutSeconds,
      onQemuStarted: run.hooks.onQemuStarted
    },
    // The test command runs with the action's Nix, as later steps do.
    nix ? { ...ctx, env: withNixStepEnv(ctx.env, nixStepEnv(nix, ctx.env)) } : ctx
  )
  record.booted(vm, judgeVm(vm, Date.now() - vmStarted))
}

/** Which key the guest refused, and what to do about it. */
function keyRefusedHint(inputs: Inputs): string {
  if (inputs.sshKey) {
    return `the key in input 'ssh-key' (${inputs.sshKey}) is not one the image trusts: give the private key whose public half the image was built with`
  }
  if (inputs.iso) {
    return `the image probably bakes another key: give its private key as input 'ssh-key' (the run's own key is only offered as the credential ssh.authorized_keys.root)`
  }
  return `the image trusts neither the key passed in '${inputs.rootKeyEnv}' nor the credential ssh.authorized_keys.root`
}
