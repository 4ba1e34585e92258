// Boot, probes and the test command once QEMU is provisioned; their records in the report.
import type { Inputs } from '../inputs.js'
import type { NixInstallation, Report } from '../model.js'
import { nixStepEnv, withNixStepEnv } from '../setup/index.js'
import { judgeVm, runVm, type OvmfFiles } from '../vm/index.js'
import type { QemuState } from './qemu.js'
import { endRun, kvmCheck, type Run } from './run.js'

/** Boot `iso` once QEMU is provisioned: ready by now unless provisioning is slower than the build. */
export async function bootWhenQemuReady(
  run: Run,
  qemu: QemuState,
  iso: string,
  /** Undefined for a given ISO: the test command then runs with the job's own environment. */
  nix: NixInstallation | undefined
): Promise<Report> {
  const waitStarted = Date.now()
  if (!qemu.settled) run.ctx.log.info('The image is ready; waiting for QEMU to be provisioned.')
  const provision = await run.beside.qemu
  if (provision?.status !== 'ready' || !provision.binary || run.ctx.signal.aborted) {
    return endRun(run)
  }
  provision.bootWaitedMs = Date.now() - waitStarted
  run.record.save()
  await bootStage(run, iso, { binary: provision.binary, ovmf: provision.ovmf }, nix)
  return endRun(run)
}

async function bootStage(
  run: Run,
  iso: string,
  qemu: { binary: string; ovmf?: OvmfFiles },
  nix: NixInstallation | undefined
): Promise<void> {
  const { inputs, ctx, record } = run
  const vmStarted = Date.now()
  const vm = await runVm(
    {
      iso,
      firmware: inputs.firmware,
      qemu: qemu.binary,
      ovmf: qemu.ovmf,
      memoryMiB: inputs.memoryMiB,
      cpus: inputs.cpus,
      kvm: inputs.kvm,
      kvmCheck: inputs.kvm === 'off' ? undefined : await kvmCheck(run, qemu.binary),
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
  record.report.vm = vm
  Object.assign(record.report.stages, judgeVm(vm, Date.now() - vmStarted))
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
