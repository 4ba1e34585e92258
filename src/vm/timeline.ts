// The boot timeline (pure): when the console first showed each milestone, and panic lines.
import type { BootMilestone } from '../model.js'

export interface ConsoleLine {
  /** Seconds since QEMU started. */
  seconds: number
  text: string
}

const MILESTONES: [BootMilestone['name'], RegExp][] = [
  ['firmware', /SeaBIOS|iPXE|ISOLINUX|SYSLINUX|GRUB|GNU GRUB|Booting `|UEFI|BdsDxe|EFI stub/i],
  ['kernel', /Linux version \d/],
  [
    'init',
    /Run \/init|Run \/\S*init as init process|systemd\[1\]:|Welcome to (?!GRUB)|boot-image-vm: init/
  ],
  [
    'network',
    /DHCP lease|DHCPv4 address|lease of \d|network up|Reached target Network\b|Reached target network\.target\b|boot-image-vm: network/
  ],
  [
    'sshd',
    /Server listening on|Started .*OpenSSH|Started .*OpenBSD Secure Shell|Started .*SSH Daemon|Started sshd|Started ssh\.service|dropbear.*(started|Running in background|Not backgrounding)|sshd listening/i
  ],
  ['ready', /\blogin: |boot-image-vm: ready|Reached target Multi-User|Reached target .*Multi-User/]
]

/** Whether a console line says the SSH server (or the whole system) is up. */
export function isSshdLine(text: string): boolean {
  return MILESTONES.some(
    ([name, pattern]) => (name === 'sshd' || name === 'ready') && pattern.test(text)
  )
}

/** The first line of each milestone, in the order the milestones occur in a boot. */
export function bootTimeline(lines: ConsoleLine[]): BootMilestone[] {
  const milestones: BootMilestone[] = []
  for (const [name, pattern] of MILESTONES) {
    const found = lines.find(line => pattern.test(line.text))
    if (found) milestones.push({ name, seconds: found.seconds, line: found.text.trim() })
  }
  return milestones.sort((a, b) => a.seconds - b.seconds)
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
