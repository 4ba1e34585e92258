// The boot timeline (pure): when the console first showed each milestone, and panic lines.
import { capLine, CAPS } from '../shared/bounds.js'
import type { BootMilestone } from '../model/index.js'

export interface ConsoleLine {
  /** Seconds since QEMU started. */
  seconds: number
  text: string
}

type Phase = BootMilestone['name']

/** The phases in boot order; also the words of the console hook. */
const PHASES: Phase[] = ['firmware', 'kernel', 'init', 'system', 'network', 'sshd', 'ready']

/**
 * The documented hook (README, "Boot timeline"): an image may print `boot-image-vm: <phase>` on
 * its console (after a kernel timestamp or not, anything may follow the phase) to mark a phase
 * itself. Its own word wins over what the line patterns below guess.
 */
const HOOK =
  /^(?:\[[^\]]*\]\s*)?boot-image-vm: (firmware|kernel|init|system|network|sshd|ready)(?![\w-])/

/** One way a console shows a phase: the pattern, and what the console calls it when it is not generic. */
type Milestone = [Phase, RegExp, string?]

/**
 * What real systems print at each phase: firmware, Linux, NixOS's stage 1 and stage 2 markers,
 * systemd (its `Welcome to <OS>!` banner, in the initrd or the real root), OpenSSH, dropbear,
 * NixOS's login banner, getty. NixOS boots with loglevel=4, which hides most kernel lines: its own
 * markers and systemd's carry its timeline. `Welcome to` counts only in systemd's banner form
 * (a line of its own ending in `!`; not GRUB's, not emergency mode's) and NixOS's `<<< … >>>`.
 */
const MILESTONES: Milestone[] = [
  ['firmware', /SeaBIOS|iPXE|ISOLINUX|SYSLINUX|GRUB|GNU GRUB|Booting `|UEFI|BdsDxe|EFI stub/i],
  ['kernel', /Linux version \d/],
  ['init', /<<< ?NixOS Stage 1 ?>>>/, 'NixOS stage 1'],
  ['init', /^Welcome to [^!]*\(Initrd\)!/, 'systemd in the initrd'],
  ['init', /Run \/init|Run \/\S*init as init process/],
  ['system', /<<< ?NixOS Stage 2 ?>>>/, 'NixOS stage 2'],
  [
    'system',
    /^Welcome to (?!GRUB!|emergency mode|rescue mode)(?![^!]*\(Initrd\)!)[^!]*!/,
    'systemd'
  ],
  [
    'network',
    /DHCP lease|DHCPv4 address|lease of \d|network up|Reached target Network\b|Reached target network\.target\b/
  ],
  [
    'sshd',
    /Server listening on|Started .*OpenSSH|Started .*OpenBSD Secure Shell|Started .*SSH Daemon|Started sshd|Started ssh\.service|dropbear.*(started|Running in background|Not backgrounding)/i
  ],
  [
    'ready',
    /Reached target (?:multi-user\.target - )?Multi-User System|Reached target multi-user\.target/,
    'multi-user'
  ],
  ['ready', /<<< Welcome to NixOS .*>>>/, 'NixOS login banner'],
  ['ready', /\blogin: /]
]

/**
 * Only when nothing above matched: the kernel's last word before it starts init (every Linux
 * prints it, whatever the init), and systemd's own lines.
 */
const FALLBACKS: Milestone[] = [
  ['init', /Freeing unused kernel (image \(initmem\) )?memory/],
  ['system', /systemd\[1\]:/]
]

/**
 * systemd gave up on the boot and entered emergency or rescue mode: nothing after it is a
 * milestone (emergency mode still reaches `Network`). Also the line that ends the boot
 * (console-failures.ts).
 */
const EMERGENCY =
  /Reached target (?:[\w@.-]+\.target - )?(?:Emergency|Rescue) Mode\b|\b(?:You are in|Welcome to) (?:emergency|rescue) mode\b/

/** Whether systemd enters emergency or rescue mode on this line. */
export function isEmergencyEntry(text: string): boolean {
  return EMERGENCY.test(text)
}

/** The phase the image itself marks on this line with the hook, if any. */
export function hookPhase(text: string): Phase | undefined {
  return HOOK.exec(text)?.[1] as Phase | undefined
}

/** Whether a console line says the SSH server (or the whole system) is up. */
export function isSshdLine(text: string): boolean {
  const hooked = hookPhase(text)
  if (hooked) return hooked === 'sshd' || hooked === 'ready'
  return MILESTONES.some(
    ([name, pattern]) => (name === 'sshd' || name === 'ready') && pattern.test(text)
  )
}

/**
 * The first line of each milestone, in the order the milestones occur in a boot; nothing after
 * systemd entered emergency or rescue mode counts.
 */
export function bootTimeline(all: ConsoleLine[]): BootMilestone[] {
  const end = all.findIndex(line => isEmergencyEntry(line.text))
  const lines = end < 0 ? all : all.slice(0, end)
  const milestones: BootMilestone[] = []
  for (const name of PHASES) {
    const hooked = lines.find(line => hookPhase(line.text) === name)
    const found = hooked
      ? { line: hooked }
      : (firstMatch(lines, MILESTONES, name) ?? firstMatch(lines, FALLBACKS, name))
    if (!found) continue
    const { line, label } = found
    milestones.push({
      name,
      seconds: line.seconds,
      line: line.text.trim(),
      ...(label ? { label } : {})
    })
  }
  return milestones.sort((a, b) => a.seconds - b.seconds)
}

/** The earliest line that any of the phase's patterns matches, with what that pattern calls it. */
function firstMatch(
  lines: ConsoleLine[],
  patterns: Milestone[],
  name: Phase
): { line: ConsoleLine; label?: string } | undefined {
  const mine = patterns.filter(([phase]) => phase === name)
  if (!mine.length) return undefined
  for (const line of lines) {
    const hit = mine.find(([, pattern]) => pattern.test(line.text))
    if (hit) return { line, label: hit[2] }
  }
  return undefined
}

const PANIC =
  /Kernel panic - not syncing|end Kernel panic|Attempted to kill init|KVM internal error|emulation failure|BUG: unable to handle|general protection fault.*\bkernel\b|Oops: |Unable to mount root fs|No working init found|VFS: Cannot open root device/

/** The line (trimmed) when it means the guest cannot go on booting; otherwise undefined. */
export function findPanic(line: string): string | undefined {
  return PANIC.test(line) ? line.trim() : undefined
}

/** Removes terminal escape sequences and carriage returns from a console line. */
/* eslint-disable no-control-regex -- escape sequences are control characters */
export function cleanConsoleText(text: string): string {
  // The entry of every console parser here: a line no longer than they need, whatever the guest prints.
  return capLine(text, CAPS.parsedLineChars)
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]|\x1b[=>c78DEHM]/g, '')
    .replace(/\r/g, '')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
}
/* eslint-enable no-control-regex */

/** The first `SHA256:…` host key fingerprint a console line shows (OpenSSH form, no padding). */
export function findFingerprint(line: string): string | undefined {
  const match = /SHA256:([A-Za-z0-9+/]{43})=?/i.exec(line)
  return match ? `SHA256:${match[1]}` : undefined
}
