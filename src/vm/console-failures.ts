// What a console says when a boot cannot go on (pure, over console lines as they arrive): a kernel
// panic, NixOS's stage-1 failure prompt, systemd's emergency or rescue mode (and the failed mount
// or unit that sent it there), a guest that reboots, a firmware that keeps starting over, and a
// kernel that never prints after the bootloader handed over. Each becomes one line for the first
// screen; quoteConsole gives the lines around it. Console text is untrusted: every pattern here is
// linear, and what is kept of it is capped.
import type { ConsoleFailureRecord } from '../model/index.js'
import { findPanic, isEmergencyEntry, type ConsoleLine } from './timeline.js'

export type ConsoleFailureKind = ConsoleFailureRecord['kind']

export interface ConsoleFailure {
  kind: ConsoleFailureKind
  /** One line for the first screen: what failed, and the console's own reason when it gave one. */
  cause: string
  /** The line that decided it. */
  line: ConsoleLine
}

/** The firmware starting this many times is a reboot loop (one reboot may be on purpose). */
export const REBOOT_LOOP_STARTS = 3

/** The longest console text a cause quotes. */
const QUOTED_CHARS = 200
/** Lines remembered for stage 1's reason (stage 1 prints a few dozen before its prompt). */
const RECENT_LINES = 40

const STAGE_1_START = /<<< ?NixOS Stage 1 ?>>>/
const STAGE_1_FAILED = /An error occurred in stage 1 of the boot process/
/** mount's hint after its own error, and kernel lines, are not stage 1's reason. */
const NOT_A_REASON = /dmesg\(1\) may have more information|^\s*\[\s*\d+\.\d+\]/
/** systemd's status lines: `[FAILED] Failed to mount /home.`, `[DEPEND] …`, `[ TIME ] …`. */
const STATUS_FAILURE = /\[\s*(FAILED|DEPEND|TIME)\s*\]\s*(\S.*)$/i
/** The same said as systemd's log lines (a kernel log or journal on the console). */
const LOGGED_FAILURE =
  /systemd\[1\]: ((?:Failed to (?:mount|start)|Dependency failed for|Timed out waiting for device) .*)$/
/** The targets whose failure sends systemd to emergency mode. */
const CHAIN =
  /^Dependency failed for (?:Local File Systems|Initrd Root File System|Initrd File Systems|Initrd Root Device|System Initialization)\b/
/** The kernel restarting the machine (QEMU runs with -no-reboot, so QEMU exits next). */
const RESTART = /reboot: Restarting system/
/** SeaBIOS's banner: printed once each time the machine starts. */
const FIRMWARE_START = /SeaBIOS \(version /
/** The bootloader's last words before the kernel runs: GRUB, ISOLINUX, the EFI stub. */
const BOOTLOADER_LAST =
  /Booting `[^`']*'|^\s*Loading \S+\.{3}|Booting in blind mode|Booting the kernel|EFI stub: /

/** Reads console lines as they arrive and says the first failure they complete. */
export class ConsoleWatch {
  private found?: ConsoleFailure
  private recent: ConsoleLine[] = []
  private firmwareStarts = 0
  /** systemd's failures so far: the last failed unit before the chain, the chain, a dependency. */
  private failed?: string
  private chain?: string
  private dependency?: string
  /** The bootloader's last line, while nothing has followed it. */
  private handover?: ConsoleLine

  /** `serialConsole`: the guest's serial device, named in the silent kernel's advice. */
  constructor(private readonly serialConsole = 'ttyS0') {}

  /** The failure this line completes (once: later lines say nothing). */
  push(line: ConsoleLine): ConsoleFailure | undefined {
    if (this.found) return undefined
    const text = line.text.trim()
    if (!text) return undefined
    this.handover = BOOTLOADER_LAST.test(text) ? line : undefined
    const failure = this.decide(line, text)
    this.remember(line, text)
    if (failure) this.found = failure
    return failure
  }

  /** A kernel that has printed nothing since the bootloader handed over, limitSeconds or more. */
  silence(nowSeconds: number, limitSeconds: number): ConsoleFailure | undefined {
    const handover = this.handover
    if (this.found || !handover || nowSeconds - handover.seconds < limitSeconds) return undefined
    this.found = {
      kind: 'silent-kernel',
      cause:
        `the console went silent after the bootloader handed over (${quote(handover.text)}): ` +
        `nothing for ${Math.round(nowSeconds - handover.seconds)} s. The kernel printed nothing ` +
        `on the serial console: does the image pass console=${this.serialConsole},115200 to the kernel?`,
      line: handover
    }
    return this.found
  }

  private decide(line: ConsoleLine, text: string): ConsoleFailure | undefined {
    const panic = findPanic(text)
    if (panic) return { kind: 'panic', cause: `the guest panicked: ${quote(panic)}`, line }
    if (STAGE_1_FAILED.test(text)) return { kind: 'nixos-stage-1', cause: this.stage1(), line }
    if (isEmergencyEntry(text)) return { kind: 'emergency-mode', cause: this.emergency(text), line }
    if (RESTART.test(text)) {
      const before = this.lastSaid()
      const cause =
        'the guest rebooted before SSH answered (QEMU runs with -no-reboot, so the first reboot ' +
        `ends the boot)${before ? `; the console before it: ${quote(before)}` : ''}`
      return { kind: 'reboot', cause, line }
    }
    if (FIRMWARE_START.test(text) && ++this.firmwareStarts >= REBOOT_LOOP_STARTS) {
      const before = this.lastSaid()
      const cause =
        `the guest is in a reboot loop: the firmware started ${this.firmwareStarts} times` +
        (before ? `; the console before the last restart: ${quote(before)}` : '')
      return { kind: 'reboot', cause, line }
    }
    this.noteSystemdFailure(text)
    return undefined
  }

  private remember(line: ConsoleLine, text: string): void {
    if (STAGE_1_START.test(text)) this.recent = []
    this.recent.push(line)
    if (this.recent.length > RECENT_LINES) this.recent.shift()
  }

  /** The last line before this one that is not a kernel line or a hint. */
  private lastSaid(): string | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const text = this.recent[i].text.trim()
      if (text && !NOT_A_REASON.test(text)) return text
    }
    return undefined
  }

  /** Stage 1 prints its reason just before the prompt: the last line that is not a hint. */
  private stage1(): string {
    const reason = this.recent
      .map(line => line.text.trim())
      .filter(text => text && !NOT_A_REASON.test(text) && !STAGE_1_START.test(text))
      .pop()
    return reason
      ? `NixOS stage 1 failed: ${quote(reason)}`
      : 'NixOS stage 1 failed (its console gave no reason before the prompt)'
  }

  private emergency(text: string): string {
    const mode = /rescue/i.test(text) ? 'rescue' : 'emergency'
    const what = this.failed ?? this.chain ?? this.dependency
    if (!what) return `systemd entered ${mode} mode (the console named no failed unit before it)`
    const then = this.failed && this.chain ? ` (then: ${quote(this.chain)})` : ''
    return `systemd entered ${mode} mode after: ${quote(what)}${then}`
  }

  private noteSystemdFailure(text: string): void {
    const status = STATUS_FAILURE.exec(text)
    const logged = status ? undefined : LOGGED_FAILURE.exec(text)
    const said = (status?.[2] ?? logged?.[1])?.replace(/\.\s*$/, '')
    if (!said) return
    const kind = status?.[1].toUpperCase() ?? (said.startsWith('Dependency') ? 'DEPEND' : 'FAILED')
    if (kind === 'DEPEND') {
      if (CHAIN.test(said)) this.chain ??= said
      else this.dependency ??= said
    } else if (!this.chain) {
      this.failed = said
    }
  }
}

/** The first failure a whole console shows (the silent kernel needs a clock: see silence). */
export function findConsoleFailure(lines: ConsoleLine[]): ConsoleFailure | undefined {
  const watch = new ConsoleWatch()
  for (const line of lines) {
    const failure = watch.push(line)
    if (failure) return failure
  }
  return undefined
}

/**
 * The console around the line that decided: a few lines before and after it, each capped, blank
 * lines at either end dropped. Untrusted text: it goes into fences and annotations only.
 */
export function quoteConsole(
  lines: ConsoleLine[],
  at: ConsoleLine,
  before = 10,
  after = 8
): string {
  const index = lines.indexOf(at)
  if (index < 0) return quote(at.text)
  const quoted = lines
    .slice(Math.max(0, index - before), index + after + 1)
    .map(line => capped(line.text.trimEnd(), 240))
  while (quoted.length && !quoted[0].trim()) quoted.shift()
  while (quoted.length && !quoted[quoted.length - 1].trim()) quoted.pop()
  return quoted.join('\n')
}

function quote(text: string): string {
  return capped(text.trim(), QUOTED_CHARS)
}

function capped(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars)}…` : text
}
