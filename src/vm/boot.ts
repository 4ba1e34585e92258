// One boot attempt: start a Machine under one accelerator and wait for SSH, raced against QEMU
// exiting, a panic line, cancellation and (under KVM) a watchdog for a KVM that cannot run guests.
import type { StageContext } from '../context.js'
import type { Accelerator } from '../model.js'
import type { Firmware } from '../inputs.js'
import { publicKeyLine } from '../key.js'
import { kvmFailureFromOutput } from './kvm.js'
import { Machine, describeExit, type MachineExit } from './machine.js'
import type { OvmfFiles } from './qemu.js'
import { waitForSsh, type SshSession } from './ssh.js'
import { findPanic, isSshdLine } from './timeline.js'

/** Under KVM, a console that stays silent this long counts as a KVM that cannot run the guest. */
export const KVM_SILENT_CONSOLE_SECONDS = 8

export interface BootAttemptOptions {
  accel: Accelerator
  iso: string
  firmware: Firmware
  memoryMiB: number
  cpus: number
  sshPort: number
  privateKey: string
  /** Epoch ms: the boot-timeout deadline. */
  deadline: number
  vmDir: string
  /** The provisioned qemu-system-x86_64 and OVMF (src/qemu/). */
  qemu: string
  ovmf?: OvmfFiles
  onQemuStarted?: (pid: number) => void
}

/**
 * QEMU could not bind the SSH forward: another process took the port between freePort() closing
 * it and QEMU binding it.
 */
const PORT_TAKEN = /Could not set up host forwarding rule/

export type BootOutcome =
  | { kind: 'ready'; session: SshSession; fingerprint: string; bootSeconds: number }
  /** The forward's port was taken: the caller may retry on another. */
  | { kind: 'port-taken' }
  /** KVM could not run the guest: the caller may retry under TCG. */
  | { kind: 'kvm-failed'; reason: string }
  | { kind: 'failed'; error: string; panic?: string }

/** Starts the machine (always returned, for teardown) and waits until SSH runs a command. */
export async function bootAttempt(
  options: BootAttemptOptions,
  ctx: StageContext
): Promise<{ machine: Machine; outcome: BootOutcome }> {
  const machine = new Machine({
    accel: options.accel,
    memoryMiB: options.memoryMiB,
    cpus: options.cpus,
    iso: options.iso,
    firmware: options.firmware,
    sshPort: options.sshPort,
    qemu: options.qemu,
    ovmf: options.ovmf,
    rootPublicKey: publicKeyLine(options.privateKey),
    dir: options.vmDir,
    tempDir: ctx.tempDir,
    log: ctx.log,
    redact: text => ctx.secrets.redact(text)
  })
  const notStarted = await startMachine(machine, options.accel)
  if (notStarted) return { machine, outcome: notStarted }
  if (machine.pid) options.onQemuStarted?.(machine.pid)
  ctx.log.info(
    `QEMU started (pid ${machine.pid}, ${options.accel}, SSH forwarded from 127.0.0.1:${options.sshPort})`
  )
  const stops = watchForStops(machine, options.accel, ctx.signal)
  try {
    const ready = await waitForSsh({
      port: options.sshPort,
      privateKey: options.privateKey,
      deadline: options.deadline,
      abort: stops.stopped.then(value => (value.kind === 'failed' ? value.error : value.reason)),
      nudge: wake => machine.onLine(line => (isSshdLine(line.text) ? wake() : undefined))
    })
    const bootSeconds = machine.secondsSinceStart()
    return { machine, outcome: { kind: 'ready', ...ready, session: ready.client, bootSeconds } }
  } catch (error) {
    return { machine, outcome: stops.current() ?? sshNeverAnswered(machine, error) }
  } finally {
    stops.dispose()
  }
}

/** Starts QEMU; undefined when it runs, else the outcome its failure to start means. */
async function startMachine(
  machine: Machine,
  accel: Accelerator
): Promise<BootOutcome | undefined> {
  try {
    await machine.start()
    return undefined
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (PORT_TAKEN.test(message)) return { kind: 'port-taken' }
    const kvm = accel === 'kvm' ? kvmFailureFromOutput(message) : undefined
    if (kvm) return { kind: 'kvm-failed', reason: kvm }
    return { kind: 'failed', error: `QEMU did not start: ${message}` }
  }
}

/** What ends the wait for SSH before its deadline. */
type Stop =
  { kind: 'kvm-failed'; reason: string } | { kind: 'failed'; error: string; panic?: string }

interface StopWatch {
  /** Settles with the first stop. */
  stopped: Promise<Stop>
  /** The first stop, once there is one. */
  current: () => Stop | undefined
  /** Stops watching. */
  dispose: () => void
}

/** Watches for what makes waiting for SSH pointless: a panic, QEMU exiting, a cancel, KVM failing. */
function watchForStops(machine: Machine, accel: Accelerator, signal: AbortSignal): StopWatch {
  let stop: Stop | undefined
  let trigger: (value: Stop) => void = () => {}
  const stopped = new Promise<Stop>(resolve => {
    trigger = value => {
      if (stop) return
      stop = value
      resolve(value)
    }
  })
  const unsubscribe = machine.onLine(line => {
    const panic = findPanic(line.text)
    if (panic) trigger({ kind: 'failed', error: `the guest panicked: ${panic}`, panic })
  })
  void machine.exited.then(exit => trigger(exitStop(machine, exit, accel)))
  const onAbort = (): void => trigger({ kind: 'failed', error: 'cancelled before SSH answered' })
  if (signal.aborted) onAbort()
  signal.addEventListener('abort', onAbort)
  const watchdog = accel === 'kvm' ? kvmWatchdog(machine, trigger) : undefined
  const dispose = (): void => {
    if (watchdog) clearInterval(watchdog)
    unsubscribe()
    signal.removeEventListener('abort', onAbort)
  }
  return { stopped, current: () => stop, dispose }
}

/** Why QEMU exiting before SSH answered failed the boot: KVM, a panic, or QEMU's last word. */
function exitStop(machine: Machine, exit: MachineExit, accel: Accelerator): Stop {
  const stderr = machine.stderr
  const kvm = accel === 'kvm' ? kvmFailureFromOutput(stderr) : undefined
  if (kvm) return { kind: 'kvm-failed', reason: kvm }
  const panic = machine.lines.map(line => findPanic(line.text)).find(Boolean)
  const last = stderr.trim().split('\n').pop()
  return {
    kind: 'failed',
    error:
      `QEMU exited (${describeExit(exit)}) after ${machine.secondsSinceStart().toFixed(1)} s, ` +
      `before SSH answered` +
      (panic ? `; the guest panicked: ${panic}` : last ? `: ${last}` : ''),
    panic
  }
}

/** The wait for SSH failed and nothing stopped it early: why, and the console's last line. */
function sshNeverAnswered(machine: Machine, error: unknown): BootOutcome {
  const lastLine = machine.lines.filter(line => line.text.trim()).pop()
  return {
    kind: 'failed',
    error:
      `${error instanceof Error ? error.message : String(error)}; ` +
      (lastLine
        ? `last console line at +${lastLine.seconds.toFixed(1)} s: ${lastLine.text.trim()}`
        : 'the serial console stayed empty (does the image pass console=ttyS0?)')
  }
}

/** Catches what the KVM check missed: QEMU's KVM errors, a stopped VM, a silent console. */
function kvmWatchdog(
  machine: Machine,
  trigger: (value: { kind: 'kvm-failed'; reason: string }) => void
): NodeJS.Timeout {
  let busy = false
  return setInterval(() => {
    if (busy || !machine.running) return
    const kvm = kvmFailureFromOutput(machine.stderr)
    if (kvm) return trigger({ kind: 'kvm-failed', reason: kvm })
    const seconds = machine.secondsSinceStart()
    if (machine.consoleBytes === 0 && seconds >= KVM_SILENT_CONSOLE_SECONDS) {
      return trigger({
        kind: 'kvm-failed',
        reason: `the serial console stayed silent for ${seconds.toFixed(0)} s under KVM`
      })
    }
    busy = true
    void machine
      .status()
      .then(status => {
        if (status && status !== 'running' && status !== 'prelaunch' && machine.running) {
          trigger({ kind: 'kvm-failed', reason: `QEMU reports the VM as '${status}' under KVM` })
        }
      })
      .finally(() => (busy = false))
  }, 500)
}
