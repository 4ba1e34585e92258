// Whether KVM can really run a guest here, proven in about a second: not that /dev/kvm opens, but
// that a tiny guest runs 100 million instructions under `-accel kvm` at hardware speed. A /dev/kvm
// that cannot run guests (no vmx/svm, nested or PVM hosts) either fails with "KVM internal error",
// aborts with "failed to set MSR", or emulates the guest instruction by instruction — which takes
// minutes for what hardware virtualization does in milliseconds.
import { constants } from 'node:fs'
import { access, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GuestArch, KvmCheck } from '../model/index.js'
import { errorMessage, start } from '../shared/process.js'
import { allowedEnv } from '../shared/child-env.js'
import { cpuModel, hostArch } from './platform.js'

export const KVM_DEVICE = '/dev/kvm'
/** Iterations of the test guest's loop (two instructions each). */
export const KVM_TEST_LOOPS = 50_000_000

/**
 * A 64 KiB BIOS image: at reset it writes "S\n" to the serial port, counts ECX down from `loops`,
 * writes "K\n", and halts. Real mode, no memory, no devices but COM1. (Whole lines: the runner
 * hands its output on line by line.)
 */
export function kvmTestRom(loops = KVM_TEST_LOOPS): Buffer {
  const rom = Buffer.alloc(65536)
  const count = Buffer.alloc(4)
  count.writeUInt32LE(loops)
  const code = Buffer.concat([
    Buffer.from([0xfa]), // cli
    Buffer.from([0xba, 0xf8, 0x03]), // mov dx, 0x3f8
    Buffer.from([0xb0, 0x53, 0xee, 0xb0, 0x0a, 0xee]), // mov al, 'S'; out dx, al; mov al, 10; out
    Buffer.from([0x66, 0xb9]), // mov ecx, loops
    count,
    Buffer.from([0x66, 0x49, 0x75, 0xfc]), // loop: dec ecx; jnz loop
    Buffer.from([0xb0, 0x4b, 0xee, 0xb0, 0x0a, 0xee]), // mov al, 'K'; out; mov al, 10; out
    Buffer.from([0xf4, 0xeb, 0xfd]) // halt: hlt; jmp halt
  ])
  code.copy(rom, 0)
  // The reset vector (F000:FFF0): jmp far F000:0000.
  Buffer.from([0xea, 0x00, 0x00, 0x00, 0xf0]).copy(rom, 0xfff0)
  return rom
}

/**
 * The same test guest for arm64's `virt` machine, as its flash image: "S\n" to the PL011 UART
 * (0x09000000), `loops` turns of subs/b.ne, "K\n", then wfi forever. MMU off, no memory used.
 */
export function kvmTestRomAarch64(loops = KVM_TEST_LOOPS): Buffer {
  const movzW = (reg: number, imm: number): number => 0x52800000 | (imm << 5) | reg
  const strbW2AtX1 = 0x39000022
  const instructions = [
    0xd2a12001, // movz x1, #0x0900, lsl #16: the UART
    movzW(2, 0x53), // mov w2, 'S'
    strbW2AtX1,
    movzW(2, 0x0a),
    strbW2AtX1,
    movzW(0, loops & 0xffff), // w0 = loops
    0x72a00000 | ((loops >>> 16) << 5), // movk w0, #hi, lsl #16
    0x71000400, // loop: subs w0, w0, #1
    0x54ffffe1, // b.ne loop
    movzW(2, 0x4b), // mov w2, 'K'
    strbW2AtX1,
    movzW(2, 0x0a),
    strbW2AtX1,
    0xd503207f, // halt: wfi
    0x17ffffff // b halt
  ]
  const rom = Buffer.alloc(65536)
  instructions.forEach((word, index) => rom.writeUInt32LE(word >>> 0, index * 4))
  return rom
}

/** The test guest's ROM for a host of `arch`. */
export function kvmTestRomFor(arch: GuestArch): Buffer {
  return arch === 'aarch64' ? kvmTestRomAarch64() : kvmTestRom()
}

export function kvmCheckArgs(rom: string, accel = 'kvm', arch: GuestArch = 'x86_64'): string[] {
  return [
    '-accel',
    accel,
    '-cpu',
    arch === 'aarch64' ? cpuModel(arch, accel === 'kvm' ? 'kvm' : 'tcg') : 'max',
    '-machine',
    arch === 'aarch64' ? 'virt' : 'pc',
    '-nodefaults',
    '-m',
    '16',
    '-bios',
    rom,
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-display',
    'none',
    '-no-reboot'
  ]
}

/** Lines that say KVM itself failed (literal phrases: linear on any line). */
const KVM_SAYS =
  /KVM internal error|failed to set MSR|emulation failure|Could not access KVM kernel module|failed to initialize kvm/
/** What follows a mention of KVM when KVM is what is missing or refused. */
const KVM_MISSING = /not supported|unavailable|Permission denied|No such file/
/** A file QEMU could not open or load (firmware, ROM, drive): never KVM's, whatever its path says. */
const FILE_ERROR =
  /Could not open '|could not load PC BIOS|Could not open option rom|failed to load|could not load kernel|Could not read/i

/** From where the line says KVM failed to its end, when it does. */
function kvmFailureIn(line: string): string | undefined {
  if (FILE_ERROR.test(line)) return undefined
  const says = KVM_SAYS.exec(line)
  if (says) return line.slice(says.index)
  const kvm = line.search(/kvm|KVM/)
  if (kvm >= 0 && KVM_MISSING.test(line.slice(kvm))) return line.slice(kvm)
  const assertion = line.indexOf('Assertion')
  if (assertion >= 0 && line.includes('failed', assertion)) return line.slice(assertion)
  return undefined
}

/** The line of QEMU's output that says KVM cannot run the guest, if any. */
export function kvmFailureFromOutput(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const failure = kvmFailureIn(line)
    if (failure) return failure.replace(/^qemu-system-\S+: /, '').trim()
  }
  return undefined
}

async function deviceProblem(device: string): Promise<string | undefined> {
  try {
    await stat(device)
  } catch {
    return `${device} does not exist: this machine exposes no hardware virtualization`
  }
  try {
    await access(device, constants.R_OK | constants.W_OK)
  } catch {
    const info = await stat(device)
    return (
      `${device} is not readable and writable by this user (mode ${(info.mode & 0o777).toString(8)}, ` +
      `uid ${info.uid}, gid ${info.gid}); a udev rule with MODE="0666" opens it`
    )
  }
  return undefined
}

export interface KvmCheckOptions {
  /** The QEMU to test with: the run's provisioned binary (src/qemu-provisioning/), never a name guessed here. */
  qemu: string
  /** How long QEMU may take to start the test guest (its first output; default 3 s). */
  timeoutMs?: number
  /**
   * How long the started guest may take for its loop (default 1 s). Hardware virtualization takes
   * ~50 ms and TCG ~200 ms; a KVM that emulates instruction by instruction never finishes, so this
   * decides it without waiting for the whole timeout.
   */
  runBudgetMs?: number
  device?: string
  /** Tests only: the same test guest under another accelerator ('tcg' proves the harness). */
  accel?: 'kvm' | 'tcg'
  /** The host's architecture (default: this machine's): KVM runs only guests of it. */
  host?: GuestArch
  /** QEMU's environment; default: src/shared/child-env.ts's allow-list of this process's. */
  env?: Record<string, string>
}

/**
 * Proves (or disproves) in a few seconds that KVM runs guest code at hardware speed. Never rejects:
 * a check that could not run says so in its reason.
 */
export async function checkKvm(options: KvmCheckOptions): Promise<KvmCheck> {
  const started = Date.now()
  const done = (runsGuest: boolean, reason: string): KvmCheck => ({
    runsGuest,
    reason,
    durationMs: Date.now() - started
  })
  const host = options.host ?? hostArch()
  if (!host)
    return done(false, `no KVM test guest for this machine's architecture (${process.arch})`)
  const problem = await deviceProblem(options.device ?? KVM_DEVICE)
  if (problem) return done(false, problem)

  const timeoutMs = options.timeoutMs ?? 3_000
  const runBudgetMs = options.runBudgetMs ?? 1_000
  let dir: string | undefined
  try {
    dir = await mkdtemp(join(tmpdir(), 'biv-kvm-'))
    const rom = join(dir, 'kvm-test.rom')
    await writeFile(rom, kvmTestRomFor(host))
    const outcome = await runTestGuest(
      options.qemu,
      kvmCheckArgs(rom, options.accel, host),
      options.env ?? allowedEnv({ env: process.env }),
      { timeoutMs, runBudgetMs }
    )
    return done(outcome.runsGuest, outcome.reason)
  } catch (error) {
    return done(false, `the check failed: ${errorMessage(error)}`)
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true })
  }
}

function runTestGuest(
  qemu: string,
  args: string[],
  env: Record<string, string>,
  { timeoutMs, runBudgetMs }: { timeoutMs: number; runBudgetMs: number }
): Promise<{ runsGuest: boolean; reason: string }> {
  const started = Date.now()
  let verdict: { runsGuest: boolean; reason: string } | undefined
  let stderr = ''
  let runTimer: NodeJS.Timeout | undefined
  const finish = (runsGuest: boolean, reason: string): void => {
    verdict ??= { runsGuest, reason }
    // Always kill it: a QEMU whose KVM failed stays alive, paused, forever.
    guest.stop('SIGKILL')
  }
  const tooSlow = (): void =>
    finish(
      false,
      `KVM started the test guest but did not run it at hardware speed: ` +
        `${(2 * KVM_TEST_LOOPS) / 1e6} million instructions took more than ` +
        `${(runBudgetMs / 1000).toFixed(1)} s (hardware takes milliseconds); ` +
        `/dev/kvm is emulated or nested without vmx/svm`
    )
  const guest = start(qemu, args, {
    env,
    stdin: 'pipe',
    onStdoutLine: line => {
      const ms = Date.now() - started
      const ran = `a test guest ran ${(2 * KVM_TEST_LOOPS) / 1e6}M instructions under KVM (${ms} ms)`
      if (line.includes('K')) finish(true, ran)
      // 'S': the guest runs; from here its loop has runBudgetMs.
      else if (line.includes('S')) runTimer ??= setTimeout(tooSlow, runBudgetMs)
    },
    onStderrLine: line => {
      stderr = `${stderr}${line}\n`.slice(-4096)
      const failure = kvmFailureFromOutput(line)
      if (failure) finish(false, `QEMU under KVM: ${failure}`)
    }
  })
  const timer = setTimeout(() => {
    finish(
      false,
      `the test guest printed nothing under KVM within ${(timeoutMs / 1000).toFixed(1)} s` +
        (stderr.trim() ? `: ${lastLine(stderr)}` : '')
    )
  }, timeoutMs)
  return guest.done.then(exit => {
    clearTimeout(timer)
    clearTimeout(runTimer)
    if (verdict) return verdict
    if (exit.startError)
      return { runsGuest: false, reason: `could not start ${qemu}: ${exit.startError}` }
    const failure = kvmFailureFromOutput(exit.stderr)
    const how = exit.signal ? `died of ${exit.signal}` : `exited with ${exit.exitCode}`
    return {
      runsGuest: false,
      reason: `QEMU under KVM ${how}: ${failure ?? (lastLine(exit.stderr) || 'no output')}`
    }
  })
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n')
  return (lines[lines.length - 1] ?? '').replace(/^qemu-system-\S+: /, '').trim()
}
