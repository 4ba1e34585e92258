// The boot timeline (pure): when the console first showed each milestone, and panic lines.
import type { BootMilestone } from '../model.js'

export interface ConsoleLine {
  /** Seconds since QEMU started. */
  seconds: number
  text: string
}

type Phase = BootMilestone['name']

/** The phases in boot order; also the words of the console hook. */
const PHASES: Phase[] = ['firmware', 'kernel', 'init', 'network', 'sshd', 'ready']

/**
 * The documented hook (README, "Boot timeline"): an image may print `boot-image-vm: <phase>` on
 * its console (after a kernel timestamp or not, anything may follow the phase) to mark a phase
 * itself. Its own word wins over what the line patterns below guess.
 */
const HOOK = /^(?:\[[^\]]*\]\s*)?boot-image-vm: (firmware|kernel|init|network|sshd|ready)(?![\w-])/

/** What real systems print at each phase: firmware, Linux, systemd, OpenSSH, dropbear, getty. */
const MILESTONES: [Phase, RegExp][] = [
  ['firmware', /SeaBIOS|iPXE|ISOLINUX|SYSLINUX|GRUB|GNU GRUB|Booting `|UEFI|BdsDxe|EFI stub/i],
  ['kernel', /Linux version \d/],
  ['init', /Run \/init|Run \/\S*init as init process|systemd\[1\]:|Welcome to (?!GRUB)/],
  [
    'network',
    /DHCP lease|DHCPv4 address|lease of \d|network up|Reached target Network\b|Reached target network\.target\b/
  ],
  [
    'sshd',
    /Server listening on|Started .*OpenSSH|Started .*OpenBSD Secure Shell|Started .*SSH Daemon|Started sshd|Started ssh\.service|dropbear.*(started|Running in background|Not backgrounding)/i
  ],
  ['ready', /\blogin: |Reached target Multi-User|Reached target .*Multi-User/]
]

/**
 * Only when nothing above matched: the kernel's last word before it starts init (every Linux
 * prints it, whatever the init).
 */
const FALLBACKS: [Phase, RegExp][] = [['init', /Freeing unused kernel (image \(initmem\) )?memory/]]

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

/** The first line of each milestone, in the order the milestones occur in a boot. */
export function bootTimeline(lines: ConsoleLine[]): BootMilestone[] {
  const milestones: BootMilestone[] = []
  for (const name of PHASES) {
    const found =
      lines.find(line => hookPhase(line.text) === name) ??
      firstMatch(lines, MILESTONES, name) ??
      firstMatch(lines, FALLBACKS, name)
    if (found) milestones.push({ name, seconds: found.seconds, line: found.text.trim() })
  }
  return milestones.sort((a, b) => a.seconds - b.seconds)
}

function firstMatch(
  lines: ConsoleLine[],
  patterns: [Phase, RegExp][],
  name: Phase
): ConsoleLine | undefined {
  const pattern = patterns.find(([phase]) => phase === name)?.[1]
  return pattern && lines.find(line => pattern.test(line.text))
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
  return text
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
