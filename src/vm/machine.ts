// The Machine: owns one QEMU process, its QMP socket, its serial console and its teardown.
// Callers never touch the process: they start it, wait for console lines, take screenshots,
// ask its status, and shut it down.
import {
  copyFileSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  type WriteStream
} from 'node:fs'
import { join } from 'node:path'
import { CAPS, HeadAndTail } from '../shared/bounds.js'
import { withTimeout } from '../shared/deadline.js'
import type { Log } from '../shared/log.js'
import type { Accelerator, Firmware, GuestArch } from '../model/index.js'
import { start, type Started, type StartOptions } from '../shared/process.js'
import { findUefiFirmware, qemuArgs, type OvmfFiles } from './qemu.js'
import { usesUefi } from './platform.js'
import { QmpClient } from './qmp.js'
import { screendumpPng, type ScreenshotWay } from './screenshot.js'
import { cleanConsoleText, type ConsoleLine } from './timeline.js'
import { allowedEnv } from '../shared/child-env.js'

export interface MachineOptions {
  /** The guest's architecture: the machine, CPU, devices and firmware QEMU gets (qemu.ts). */
  arch: GuestArch
  accel: Accelerator
  memoryMiB: number
  cpus: number
  iso: string
  firmware: Firmware
  sshPort: number
  /** root's public key, offered to the guest at boot (see qemuArgs). */
  rootPublicKey?: string
  /** Absolute directory for serial.log, qemu.log, qemu-args.txt and screenshots (<report>/vm). */
  dir: string
  /** Private scratch space (the OVMF vars copy, the QMP socket when its path is short enough). */
  tempDir: string
  log: Log
  /** Console prefix in the log. */
  name?: string
  /** The qemu-system-<arch> to start: the run's provisioned binary (src/qemu-provisioning/). */
  qemu: string
  /** UEFI firmware (OVMF, AAVMF): the provisioned pair (else the usual places are searched). */
  ovmf?: OvmfFiles
  /** Applied to every console line before it reaches the log. */
  redact?: (text: string) => string
  /** QEMU's environment; default: src/shared/child-env.ts's allow-list of this process's. */
  env?: Record<string, string>
}

export interface MachineExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A unix socket path must fit in sun_path (108 bytes). */
const MAX_SOCKET_PATH = 100

export class Machine {
  /** The console's first and last lines within CAPS.consoleBytes (a line costs its text and 64). */
  private readonly console = new HeadAndTail<ConsoleLine>(
    CAPS.consoleBytes,
    line => line.text.length + 64
  )
  readonly serialLog: string
  readonly qemuLog: string
  exited: Promise<MachineExit> = new Promise(() => {})
  /** Whether this QEMU wrote its screenshots as PNG itself (QEMU 7.1+) or as PPM (older). */
  readonly screenshotWay: ScreenshotWay = {}
  private child?: Started
  private qmp?: QmpClient
  private startedAt = 0
  private stderrTail = ''
  private runtimeDir?: string
  private readonly listeners = new Set<(line: ConsoleLine) => void>()
  private exitInfo?: MachineExit

  constructor(private readonly options: MachineOptions) {
    mkdirSync(options.dir, { recursive: true })
    this.serialLog = join(options.dir, 'serial.log')
    this.qemuLog = join(options.dir, 'qemu.log')
  }

  get arch(): GuestArch {
    return this.options.arch
  }

  /** The console lines kept: the first ones, then the last ones (a guest may print without end). */
  get lines(): ConsoleLine[] {
    return this.console.toArray()
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined
  }

  /** The last 64 KiB QEMU wrote to stderr. */
  get stderr(): string {
    return this.stderrTail
  }

  /** Bytes the guest has printed on the serial console (escape sequences included). */
  get consoleBytes(): number {
    return this.child?.bytes().stdout ?? 0
  }

  secondsSinceStart(): number {
    return this.startedAt ? (Date.now() - this.startedAt) / 1000 : 0
  }

  /** Starts QEMU and connects to its QMP socket. Throws when QEMU cannot be started at all. */
  async start(): Promise<void> {
    const { options } = this
    const qmpSocket = this.freshQmpSocket()
    const ovmf: { code?: string; vars?: string } = usesUefi(options.arch, options.firmware)
      ? uefiFirmware(options)
      : {}
    const args = qemuArgs({
      arch: options.arch,
      accel: options.accel,
      memoryMiB: options.memoryMiB,
      cpus: options.cpus,
      iso: options.iso,
      firmware: options.firmware,
      ovmfCode: ovmf.code,
      ovmfVars: ovmf.vars,
      sshPort: options.sshPort,
      serialLog: this.serialLog,
      qmpSocket,
      rootPublicKey: options.rootPublicKey
    })
    writeFileSync(join(options.dir, 'qemu-args.txt'), [options.qemu, ...args].join('\n') + '\n')
    const qemuLog = createWriteStream(this.qemuLog, { flags: 'a' })
    this.startedAt = Date.now()
    this.startQemu(args, qemuLog)
    this.qmp = await this.connectQmp(qmpSocket)
  }

  /** The QMP socket's path in the runtime directory (made here), no stale socket left on it. */
  private freshQmpSocket(): string {
    const socketDir = join(this.options.tempDir, 'qemu')
    this.runtimeDir =
      socketDir.length + 10 <= MAX_SOCKET_PATH ? socketDir : mkdtempSync('/tmp/biv-')
    mkdirSync(this.runtimeDir, { recursive: true })
    const qmpSocket = join(this.runtimeDir, 'qmp.sock')
    rmSync(qmpSocket, { force: true })
    return qmpSocket
  }

  /** Starts QEMU (through the runner: its own process group); `exited` settles when it exits. */
  private startQemu(args: string[], qemuLog: WriteStream): void {
    const env = this.options.env ?? allowedEnv({ env: process.env })
    const child = start(this.options.qemu, args, {
      env,
      stdin: 'pipe',
      ...this.followOutput(qemuLog)
    })
    this.child = child
    this.exited = child.done.then(result => {
      if (result.startError) this.stderrTail += `${result.startError}\n`
      qemuLog.end()
      this.exitInfo = { code: result.exitCode, signal: result.signal ?? null }
      return this.exitInfo
    })
  }

  /** Each console line logged (prefixed, redacted) and handed to the listeners; stderr to qemu.log. */
  private followOutput(qemuLog: WriteStream): Pick<StartOptions, 'onStdoutLine' | 'onStderrLine'> {
    const prefix = this.options.name ?? 'vm'
    const redact = this.options.redact ?? ((text: string) => text)
    return {
      onStdoutLine: raw => {
        const line = { seconds: this.secondsSinceStart(), text: cleanConsoleText(raw) }
        this.console.push(line)
        this.options.log.echo(`${prefix} +${line.seconds.toFixed(1)}s`, redact(line.text))
        for (const listener of this.listeners) listener(line)
      },
      onStderrLine: line => {
        qemuLog.write(`${line}\n`)
        this.stderrTail = `${this.stderrTail}${line}\n`.slice(-65536)
      }
    }
  }

  /** The QMP client, or an error with QEMU's own words when it exits first. */
  private async connectQmp(qmpSocket: string): Promise<QmpClient> {
    const connected = QmpClient.connect(qmpSocket, 10_000)
    const outcome = await Promise.race([
      connected.then(client => ({ client })),
      this.exited.then(exit => ({ exit }))
    ])
    if ('exit' in outcome) {
      connected.then(client => client.close()).catch(() => {})
      throw new Error(
        `QEMU exited at once (${describeExit(outcome.exit)}): ${this.stderrTail.trim() || 'no output'}`
      )
    }
    return outcome.client
  }

  /** Calls listener with every console line from now on; returns the unsubscribe function. */
  onLine(listener: (line: ConsoleLine) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The first console line (already seen or still to come) that matches, or an error. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<ConsoleLine> {
    const seen = this.lines.find(line => pattern.test(line.text))
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        unsubscribe()
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no console line matching ${pattern} within ${timeoutMs / 1000} s`))
      }, timeoutMs)
      const unsubscribe = this.onLine(line => {
        if (!pattern.test(line.text)) return
        done()
        resolve(line)
      })
      void this.exited.then(exit => {
        done()
        reject(new Error(`QEMU exited (${describeExit(exit)}) before a line matching ${pattern}`))
      })
    })
  }

  /** QMP query-status: 'running', 'paused', 'internal-error', 'shutdown', … (undefined: no answer). */
  async status(): Promise<string | undefined> {
    if (!this.qmp || !this.running) return undefined
    try {
      const reply = await this.qmp.execute<{ status: string }>('query-status', undefined, 2_000)
      return reply.status
    } catch {
      return undefined
    }
  }

  /** Saves the screen as vm/screen-<name>.png; returns its absolute path, or undefined. */
  async screenshot(name: string): Promise<string | undefined> {
    if (!this.qmp || !this.running || !this.runtimeDir) return undefined
    const ppm = join(this.runtimeDir, `screen-${name}.ppm`)
    const png = join(this.options.dir, `screen-${name}.png`)
    try {
      await screendumpPng(this.qmp, { png, ppm }, this.screenshotWay)
      return png
    } catch (error) {
      this.options.log.debug(`screenshot ${name} failed: ${String(error)}`)
      return undefined
    }
  }

  /** QMP quit, then SIGTERM, then SIGKILL, each bounded; always leaves no QEMU behind. */
  async shutdown(graceMs = 3_000): Promise<MachineExit | undefined> {
    const child = this.child
    if (!child) return undefined
    const waitExit = (ms: number): Promise<boolean> =>
      withTimeout(this.exited, ms, 'QEMU exit').then(
        () => true,
        () => false
      )
    if (this.running && this.qmp) {
      await this.qmp.execute('quit', undefined, 1_000).catch(() => undefined)
    }
    if (this.running && !(await waitExit(graceMs))) {
      child.stop('SIGTERM')
      if (!(await waitExit(graceMs))) {
        child.stop('SIGKILL')
        await waitExit(graceMs)
      }
    }
    this.qmp?.close()
    this.qmp = undefined
    if (this.runtimeDir) rmSync(this.runtimeDir, { recursive: true, force: true })
    return this.exitInfo
  }
}

/** UEFI firmware: the code, and a private copy of the variables the guest may write. */
function uefiFirmware(options: MachineOptions): { code: string; vars: string } {
  const found = options.ovmf ?? findUefiFirmware(options.arch)
  const vars = join(options.tempDir, options.arch === 'aarch64' ? 'AAVMF_VARS.fd' : 'OVMF_VARS.fd')
  copyFileSync(found.vars, vars)
  return { code: found.code, vars }
}

export function describeExit(exit: MachineExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`
}
