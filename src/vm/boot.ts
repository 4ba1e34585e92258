// One boot attempt: start a Machine under one accelerator and wait for SSH, raced against QEMU
// exiting, a console that shows the boot cannot go on (a panic, NixOS's stage-1 prompt, emergency
// mode, a reboot, a silent kernel: console-failures.ts), cancellation and (under KVM) a watchdog
// for a KVM that cannot run guests.
import type { StageContext } from '../shared/context.js'
import type { Accelerator, ConsoleFailureRecord, Firmware, GuestArch } from '../model/index.js'
import { publicKeyLine } from '../shared/key.js'
import {
  ConsoleWatch,
  findConsoleFailure,
  quoteConsole,
  type ConsoleFailure
} from './console-failures.js'
import { kvmFailureFromOutput } from './kvm.js'
import { Machine, describeExit, type MachineExit } from './machine.js'
import type { OvmfFiles } from './qemu.js'
import { waitForSsh, type SshSession } from './ssh.js'
import { isSshdLine } from './timeline.js'
import { serialConsole } from './platform.js'
import { allowedEnv } from '../shared/child-env.js'

/** Under KVM, a console that stays silent this long counts as a KVM that cannot run the guest. */
export const KVM_SILENT_CONSOLE_SECONDS = 8

/** Lines a console failure's own lines are given to arrive (the prompt after stage 1's error). */
export const CONSOLE_SETTLE_MS = 2_000

/**
 * A kernel silent this long after the bootloader handed over never reached the serial console.
 * Generous under TCG: a NixOS ISO without console=ttyS0 boots to SSH in minutes there.
 */
export const SILENT_KERNEL_SECONDS: Record<Accelerator, number> = { kvm: 120, tcg: 300 }

export interface BootAttemptOptions {
  arch: GuestArch
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
  /** The provisioned qemu-system-<arch> and UEFI firmware (src/qemu-provisioning/). */
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
  | FailedOutcome

/** A failed boot, with the panic line and what the console showed when the console ended it. */
interface FailedOutcome {
  kind: 'failed'
  error: string
  panic?: string
  console?: ConsoleFailureRecord
}

/** Starts the machine (always returned, for teardown) and waits until SSH runs a command. */
export async function bootAttempt(
  options: BootAttemptOptions,
  ctx: StageContext
): Promise<{ machine: Machine; outcome: BootOutcome }> {
  const machine = new Machine({
    arch: options.arch,
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
    redact: text => ctx.secrets.redact(text),
    env: allowedEnv(ctx)
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
type Stop = { kind: 'kvm-failed'; reason: string } | FailedOutcome

interface StopWatch {
  /** Settles with the first stop. */
  stopped: Promise<Stop>
  /** The first stop, once there is one. */
  current: () => Stop | undefined
  /** Stops watching. */
  dispose: () => void
}

/**
 * Watches for what makes waiting for SSH pointless: a console failure, QEMU exiting, a cancel, KVM
 * failing.
 */
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
  const consoleWatch = watchConsole(machine, accel, failure =>
    trigger(consoleStop(machine, failure))
  )
  void machine.exited.then(exit => trigger(exitStop(machine, exit, accel)))
  const onAbort = (): void => trigger({ kind: 'failed', error: 'cancelled before SSH answered' })
  if (signal.aborted) onAbort()
  signal.addEventListener('abort', onAbort)
  const watchdog = accel === 'kvm' ? kvmWatchdog(machine, trigger) : undefined
  const dispose = (): void => {
    if (watchdog) clearInterval(watchdog)
    consoleWatch.dispose()
    signal.removeEventListener('abort', onAbort)
  }
  return { stopped, current: () => stop, dispose }
}

/**
 * Feeds the console to a ConsoleWatch (the lines so far, then each as it arrives, and a clock for
 * a silent kernel); reports its failure once the lines after it have had CONSOLE_SETTLE_MS.
 */
function watchConsole(
  machine: Machine,
  accel: Accelerator,
  report: (failure: ConsoleFailure) => void
): { dispose: () => void } {
  const watch = new ConsoleWatch(serialConsole(machine.arch))
  let settle: NodeJS.Timeout | undefined
  const seen = (failure: ConsoleFailure | undefined): void => {
    if (failure && !settle) settle = setTimeout(() => report(failure), CONSOLE_SETTLE_MS)
  }
  for (const line of [...machine.lines]) seen(watch.push(line))
  const unsubscribe = machine.onLine(line => seen(watch.push(line)))
  const clock = setInterval(() => {
    if (machine.running)
      seen(watch.silence(machine.secondsSinceStart(), SILENT_KERNEL_SECONDS[accel]))
  }, 5_000)
  return {
    dispose: () => {
      unsubscribe()
      clearInterval(clock)
      if (settle) clearTimeout(settle)
    }
  }
}

/** The failed outcome a console failure means: its cause, and the console quoted around it. */
function consoleStop(machine: Machine, failure: ConsoleFailure, prefix = ''): FailedOutcome {
  return {
    kind: 'failed',
    error: prefix + failure.cause,
    panic: failure.kind === 'panic' ? failure.line.text.trim() : undefined,
    console: {
      kind: failure.kind,
      cause: failure.cause,
      seconds: Math.round(failure.line.seconds * 10) / 10,
      excerpt: quoteConsole(machine.lines, failure.line)
    }
  }
}

/** Why QEMU exiting before SSH answered failed the boot: KVM, the console, or QEMU's last word. */
function exitStop(machine: Machine, exit: MachineExit, accel: Accelerator): Stop {
  const stderr = machine.stderr
  const kvm = accel === 'kvm' ? kvmFailureFromOutput(stderr) : undefined
  if (kvm) return { kind: 'kvm-failed', reason: kvm }
  const said =
    `QEMU exited (${describeExit(exit)}) after ${machine.secondsSinceStart().toFixed(1)} s, ` +
    `before SSH answered`
  const failure = findConsoleFailure(machine.lines)
  if (failure) return consoleStop(machine, failure, `${said}; `)
  const last = stderr.trim().split('\n').pop()
  return { kind: 'failed', error: said + (last ? `: ${last}` : '') }
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
        : `the serial console stayed empty (does the image pass console=${serialConsole(machine.arch)}?)`)
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
