// The VM stage: choose the accelerator, boot the image, wait for SSH, run the probes and the
// user's test command, take screenshots, and always tear QEMU down. Expected failures come back
// as `status: 'failed'` with an error; the stage never throws for them.
import { existsSync, readFileSync, renameSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { StageContext } from '../shared/context.js'
import { INPUT_DEFAULTS } from '../inputs/index.js'
import type {
  Accelerator,
  BootResult,
  Firmware,
  GuestPlatform,
  KvmCheck,
  KvmMode,
  ProbeSpec,
  VmStageResult
} from '../model/index.js'
import { bootAttempt, type BootOutcome } from './boot.js'
import { checkKvm } from './kvm.js'
import type { Machine } from './machine.js'
import { runProbes } from './probes.js'
import { freePort, type OvmfFiles } from './qemu.js'
import { KEY_REFUSED, type SshSession } from './ssh.js'
import { runTestCommand } from './test-command.js'
import { bootTimeline, findFingerprint } from './timeline.js'
import { bootTimeoutFor, emulatedAccelerator, guestPlatform } from './guest.js'
import { allowedEnv } from '../shared/child-env.js'

export interface VmRequest {
  iso: string
  /** The guest's architecture against the host's (absent: an x86_64 guest). */
  guest?: GuestPlatform
  firmware: Firmware
  /** The provisioned qemu-system-<arch> (src/qemu-provisioning/): the KVM check and boot start it. */
  qemu: string
  /** The provisioned UEFI pair (OVMF, AAVMF), for uefi and for aarch64. */
  ovmf?: OvmfFiles
  memoryMiB: number
  cpus: number
  kvm: KvmMode
  /** Already done by the pipeline; otherwise the stage does it. */
  kvmCheck?: KvmCheck
  bootTimeoutSeconds: number
  privateKeyPath: string
  /** Said after the error when the guest refuses the key: which key it was, and the fix. */
  keyRefusedHint?: string
  probes: ProbeSpec[]
  testCommand: string
  testTimeoutSeconds?: number
  onQemuStarted?: (pid: number) => void
}

/** Ports tried for the SSH forward (another process may take a free port before QEMU binds it). */
const MAX_PORT_TRIES = 3

export const DEFAULT_TEST_TIMEOUT_SECONDS = Number(INPUT_DEFAULTS['test-timeout'])
const TCG_COST = 'TCG emulates the CPU in software and is roughly 5–10× slower than KVM'

/** Which accelerator to boot under, or the boot error when kvm is 'require' and KVM cannot. */
export function chooseAccelerator(
  mode: KvmMode,
  check: KvmCheck | undefined
): { accel: Accelerator; warning?: string; error?: string } {
  if (mode === 'off') return { accel: 'tcg' }
  if (check?.runsGuest) return { accel: 'kvm' }
  const reason = check?.reason ?? 'not checked'
  if (mode === 'require') {
    return {
      accel: 'kvm',
      error: `input 'kvm' is 'require', but KVM cannot run a guest on this machine: ${reason}`
    }
  }
  return {
    accel: 'tcg',
    warning: `KVM cannot run a guest on this machine (${reason}); booting under TCG instead. ${TCG_COST}: raise boot-timeout if boots time out, or use a runner with working KVM.`
  }
}

/** The accelerator: TCG (or an error) for an emulated guest, else what the KVM check allows. */
async function acceleratorFor(
  request: VmRequest,
  guest: GuestPlatform,
  boot: BootResult,
  ctx: StageContext
): Promise<{ accel: Accelerator; warning?: string; error?: string }> {
  const emulated = emulatedAccelerator(request.kvm, guest)
  if (emulated) return emulated
  let check = request.kvmCheck
  if (request.kvm !== 'off' && !check) {
    check = await checkKvm({ qemu: request.qemu, env: allowedEnv(ctx) })
  }
  if (check) boot.kvmCheck = check
  return chooseAccelerator(request.kvm, check)
}

/** What the stage holds while it runs: torn down whatever way the stage ends. */
interface Live {
  machine?: Machine
  session?: SshSession
}

export async function runVm(request: VmRequest, ctx: StageContext): Promise<VmStageResult> {
  const boot: BootResult = { status: 'failed', timeline: [], screenshots: [] }
  const result: VmStageResult = { boot, probes: [] }
  const live: Live = {}
  const closeSession = (): void => live.session?.close()
  ctx.signal.addEventListener('abort', closeSession)
  const screenshot = async (name: string): Promise<void> => {
    const png = await live.machine?.screenshot(name)
    if (png) boot.screenshots.push(relative(ctx.reportDir, png))
  }

  const guest = (boot.guest = request.guest ?? guestPlatform('x86_64', 'not given: a PC assumed'))
  const timeout = bootTimeoutFor(request.bootTimeoutSeconds, guest)
  const timed = { ...request, guest, bootTimeoutSeconds: timeout.seconds }
  try {
    const choice = await acceleratorFor(request, guest, boot, ctx)
    boot.accel = choice.accel
    if (choice.error) {
      boot.error = choice.error
      return result
    }
    if (choice.warning) ctx.log.warning(choice.warning, { title: 'Booting without KVM' })

    const booted = await bootWithFallback(timed, choice.accel, { boot, live, screenshot }, ctx)
    const outcome = booted.outcome
    if (outcome.kind !== 'ready') {
      boot.error = outcome.error
      if (outcome.error.startsWith(KEY_REFUSED) && request.keyRefusedHint) {
        boot.error += `; ${request.keyRefusedHint}`
      }
      // Name the input to raise when the deadline is what ended the boot.
      if (Date.now() >= booted.deadline) {
        boot.error += ` (${timeout.said})`
      }
      if (outcome.panic) boot.panic = outcome.panic
      if (outcome.console) boot.consoleFailure = outcome.console
      ctx.log.error(boot.error, { title: 'Boot failed' })
      await screenshot('failure')
      return result
    }
    live.session = outcome.session
    boot.status = 'passed'
    boot.bootSeconds = Math.round(outcome.bootSeconds * 10) / 10
    boot.hostKeyFingerprint = outcome.fingerprint
    ctx.log.info(
      `SSH ready after ${boot.bootSeconds} s under ${boot.accel} (host key ${outcome.fingerprint})`
    )
    checkConsoleFingerprint(boot, live.machine, ctx)
    await probeAndTest(request, result, outcome.session, booted.sshPort, live.machine, ctx)
    await screenshot('final')
    return result
  } catch (error) {
    // Unexpected (a bug or the machine itself): still a result, never a throw.
    const stage = boot.status === 'passed' ? 'after the boot' : 'during the boot'
    boot.error ??= `the VM stage failed ${stage}: ${error instanceof Error ? error.message : String(error)}`
    ctx.log.error(boot.error)
    return result
  } finally {
    ctx.signal.removeEventListener('abort', closeSession)
    if (live.machine) boot.timeline = bootTimeline(live.machine.lines)
    await teardown(live.machine, live.session, ctx)
  }
}

/** A boot's outcome once no retry is left: ready, or failed. */
type Settled = Extract<BootOutcome, { kind: 'ready' | 'failed' }>

/**
 * Boots until an outcome that is not a retry: another port when QEMU lost the one picked to a
 * race, TCG when KVM could not run the guest (unless input 'kvm' is 'require').
 */
async function bootWithFallback(
  request: VmRequest & { guest: GuestPlatform },
  chosen: Accelerator,
  stage: { boot: BootResult; live: Live; screenshot: (name: string) => Promise<void> },
  ctx: StageContext
): Promise<{ outcome: Settled; sshPort: number; deadline: number }> {
  const { boot, live } = stage
  const vmDir = join(ctx.reportDir, 'vm')
  const privateKey = readFileSync(request.privateKeyPath, 'utf8')
  const deadline = Date.now() + request.bootTimeoutSeconds * 1000
  let accel = chosen
  let portsTaken = 0
  for (;;) {
    const sshPort = await freePort()
    const attempt = await bootAttempt(
      { ...request, arch: request.guest.arch, accel, sshPort, privateKey, deadline, vmDir },
      ctx
    )
    const machine = (live.machine = attempt.machine)
    let outcome = attempt.outcome
    if (outcome.kind === 'port-taken') {
      await machine.shutdown(1_000)
      if (++portsTaken < MAX_PORT_TRIES) {
        ctx.log.info(`Port ${sshPort} was taken before QEMU could bind it; trying another.`)
        live.machine = undefined
        continue
      }
      outcome = {
        kind: 'failed',
        error: `QEMU could not bind a port for the SSH forward (${MAX_PORT_TRIES} tries; the last: ${sshPort})`
      }
    }
    if (outcome.kind !== 'kvm-failed') return { outcome, sshPort, deadline }
    await stage.screenshot('kvm-failure')
    await machine.shutdown(1_000)
    keepKvmAttemptLogs(vmDir)
    if (request.kvm === 'require') {
      const error = `input 'kvm' is 'require', but KVM could not run the guest: ${outcome.reason}`
      return { outcome: { kind: 'failed', error }, sshPort, deadline }
    }
    ctx.log.warning(
      `KVM could not run the guest (${outcome.reason}); restarting under TCG. ${TCG_COST}.`,
      { title: 'Booting without KVM' }
    )
    accel = 'tcg'
    boot.accel = 'tcg'
    live.machine = undefined
  }
}

/** The probes, then the user's test command (unless the run was cancelled). */
async function probeAndTest(
  request: VmRequest,
  result: VmStageResult,
  session: SshSession,
  sshPort: number,
  machine: Machine | undefined,
  ctx: StageContext
): Promise<void> {
  result.probes = await runProbes(session, request.probes, join(ctx.reportDir, 'probes'), ctx)
  if (!request.testCommand || ctx.signal.aborted) return
  result.test = await runTestCommand(
    {
      command: request.testCommand,
      sshPort,
      privateKeyPath: request.privateKeyPath,
      iso: request.iso,
      serialLog: machine?.serialLog ?? join(ctx.reportDir, 'vm', 'serial.log'),
      timeoutSeconds: request.testTimeoutSeconds ?? DEFAULT_TEST_TIMEOUT_SECONDS
    },
    ctx
  )
}

/** Compares the host key SSH saw with the fingerprints the console printed, when it printed any. */
function checkConsoleFingerprint(
  boot: BootResult,
  machine: Machine | undefined,
  ctx: StageContext
): void {
  const printed = (machine?.lines ?? [])
    .map(line => findFingerprint(line.text))
    .filter((f): f is string => Boolean(f))
  if (!printed.length) return
  const match = printed.find(f => f === boot.hostKeyFingerprint)
  boot.consoleHostKeyFingerprint = match ?? printed[printed.length - 1]
  if (match) ctx.log.info(`The host key matches the fingerprint the console printed.`)
  else {
    ctx.log.warning(
      `The SSH host key (${boot.hostKeyFingerprint}) is not among the fingerprints the guest ` +
        `printed on its console (${printed.join(', ')}): SSH may not have reached this guest.`,
      { title: 'Host key mismatch' }
    )
  }
}

/** A failed KVM attempt's logs stay, renamed, beside the TCG boot's. */
function keepKvmAttemptLogs(vmDir: string): void {
  for (const [from, to] of [
    ['serial.log', 'serial-kvm.log'],
    ['qemu.log', 'qemu-kvm.log'],
    ['qemu-args.txt', 'qemu-args-kvm.txt']
  ]) {
    if (existsSync(join(vmDir, from))) renameSync(join(vmDir, from), join(vmDir, to))
  }
}

/** Power off over SSH, then QMP quit, then signals: each bounded, whatever happened before. */
async function teardown(
  machine: Machine | undefined,
  session: SshSession | undefined,
  ctx: StageContext
): Promise<void> {
  if (session && machine?.running && !ctx.signal.aborted) {
    await session.exec('poweroff', { timeoutMs: 2_000 }).catch(() => undefined)
    await Promise.race([machine.exited, new Promise(r => setTimeout(r, 5_000))])
  }
  session?.close()
  if (machine) await machine.shutdown(ctx.signal.aborted ? 1_000 : 3_000)
}
