// Which sources a `qemu` mode tries and in what order, and how to say what each gave or why it was
// passed over. Pure: the provisioning (stage.ts) runs the sources, this decides and describes.
import type {
  Firmware,
  GuestArch,
  QemuAttempt,
  QemuMode,
  QemuProvision,
  QemuSource
} from '../model/index.js'
import { qemuBinary, usesUefi } from '../vm/index.js'
import { aptPackages } from './apt-policy.js'

/** What QEMU is provisioned for: the guest's architecture (its binary) and how it boots (firmware). */
export interface QemuTarget {
  arch: GuestArch
  firmware: Firmware
}

/** Every source, in the order `auto` tries them: the cheapest and most explicit first. */
export const QEMU_SOURCES: readonly QemuSource[] = ['path', 'nix', 'apt']

/** The sources a mode tries, in order. */
export function sourcesFor(mode: QemuMode): QemuSource[] {
  return mode === 'auto' ? [...QEMU_SOURCES] : [mode]
}

/** The attempt record of a source the mode never tries. */
export function notTried(mode: QemuMode, source: QemuSource): QemuAttempt {
  return {
    source,
    outcome: 'skipped',
    reason: `not tried: input 'qemu' is '${mode}'`,
    durationMs: 0
  }
}

/** The attempt record of a source left untried because an earlier one gave QEMU. */
export function notNeeded(source: QemuSource, used: QemuSource): QemuAttempt {
  return { source, outcome: 'skipped', reason: `not needed: ${used} gave QEMU`, durationMs: 0 }
}

/** What the user can do to make a source give QEMU. */
export function fixFor(source: QemuSource, firmware: Firmware, arch: GuestArch = 'x86_64'): string {
  const uefi = usesUefi(arch, firmware)
  const [firmwareName, firmwareDir] =
    arch === 'aarch64' ? ['AAVMF', '/usr/share/AAVMF'] : ['OVMF', '/usr/share/OVMF']
  switch (source) {
    case 'path':
      return (
        `install QEMU in an earlier step (\`sudo apt-get install ${aptPackages(firmware, arch).join(' ')}\`) ` +
        `or put a directory holding ${qemuBinary(arch)} on PATH` +
        (uefi ? `, with ${firmwareName} in ${firmwareDir} or $${firmwareName}` : '')
      )
    case 'nix':
      return (
        'give the flake a `nixpkgs` input (`inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05"`) ' +
        'and commit its flake.lock: QEMU then comes from that nixpkgs, pinned, through your substituters'
      )
    case 'apt':
      return 'run on Debian or Ubuntu as root or with passwordless sudo (GitHub’s ubuntu runners have both)'
  }
}

/** Why no source gave QEMU: every way, what happened to it, and how to make it work. */
export function noQemuError(
  mode: QemuMode,
  firmware: Firmware,
  attempts: QemuAttempt[],
  arch: GuestArch = 'x86_64'
): string {
  const firmwareName = arch === 'aarch64' ? 'AAVMF' : 'OVMF'
  const qemu = arch === 'x86_64' ? 'QEMU' : `QEMU for an ${arch} guest`
  const what = usesUefi(arch, firmware) ? `${qemu} and ${firmwareName}` : qemu
  const lines = [
    `No source could provide ${what} (input 'qemu' is '${mode}'). The three ways, and how to make each work:`
  ]
  for (const source of QEMU_SOURCES) {
    const attempt = attempts.find(a => a.source === source) ?? notTried(mode, source)
    lines.push(`- ${source}: ${attempt.reason}. To use it: ${fixFor(source, firmware, arch)}.`)
  }
  if (mode !== 'auto') {
    lines.push(`Or set 'qemu: auto' to try path, then nix, then apt.`)
  }
  return lines.join('\n')
}

/** One line for the stage table and the log. */
export function describeProvision(provision: QemuProvision): string {
  const passed = provision.attempts
    .filter(a => a.source !== provision.source)
    .map(a => `${a.source}: ${a.reason}`)
  const others = passed.length ? `; ${passed.join('; ')}` : ''
  switch (provision.status) {
    case 'ready':
      return `${qemuBinary(provision.arch ?? 'x86_64')} ${provision.version ?? '(version unknown)'} from ${provision.source}${others}`
    case 'stopped':
      return `stopped before QEMU was ready (not needed any more)${others}`
    case 'failed':
      return `no source gave QEMU${others}`
  }
}

/**
 * What one source gave: QEMU (and OVMF for uefi), or the reason it gave nothing; `stopped` when
 * the provisioning's stop cut it short (then the reason says where, not that the source failed).
 */
export type SourceResult =
  | { binary: string; ovmf?: { code: string; vars: string }; detail?: string }
  | { reason: string; stopped?: boolean }

/** The attempt of a source the stop (or the job's cancellation) cut short: skipped, not failed. */
export function stoppedAttempt(
  source: QemuSource,
  where: string,
  cancelled: boolean,
  durationMs: number
): QemuAttempt {
  const why = cancelled
    ? 'the job was cancelled'
    : 'provisioning was stopped (QEMU was not needed any more: the build failed or the run ended)'
  return { source, outcome: 'skipped', reason: `${where}: ${why}`, durationMs }
}

/** The last line that says what went wrong (apt's `E:`, Nix's `error:`), or the last line. */
export function lastError(text: string): string {
  const lines = text
    .replace(/\r/g, '')
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
  const errors = lines.filter(line => /^(E:|error:|sudo:)/.test(line))
  return (errors[errors.length - 1] ?? lines[lines.length - 1] ?? 'no output').slice(0, 500)
}
