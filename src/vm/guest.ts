// A guest of another architecture than the host's (pure): KVM cannot run it, so the accelerator
// is TCG or, with input 'kvm: require', a clear error before anything starts; the boot's default
// time scales with emulation's cost.
import { INPUT_DEFAULTS } from '../inputs/index.js'
import type { Accelerator, GuestArch, GuestPlatform, KvmMode } from '../model/index.js'
import { hostArch } from './platform.js'

/** A guest on a host of another architecture: every instruction is translated by TCG. */
export const EMULATION_COST = 'emulated: expect ~10× slower than on a host of its own architecture'

/**
 * How much longer the default boot-timeout is for an emulated guest. TCG of the host's own
 * architecture already fits the default (it was chosen for it); a foreign one translates more
 * (measured: the aarch64 fixture needs ~1.5× an x86 one on an x86 host; a NixOS boot more).
 */
export const EMULATED_TIMEOUT_FACTOR = 3

const DEFAULT_BOOT_TIMEOUT = Number(INPUT_DEFAULTS['boot-timeout'])

export function guestPlatform(
  arch: GuestArch,
  evidence: string,
  host: GuestArch | undefined = hostArch()
): GuestPlatform {
  return { arch, evidence, ...(host ? { host } : {}), emulated: arch !== host }
}

/** What the host is called in messages. */
function hostName(guest: GuestPlatform): string {
  return guest.host ?? `${process.arch} (neither x86_64 nor aarch64)`
}

/**
 * The accelerator for an emulated guest: TCG, or the boot error for `kvm: require`, said before
 * QEMU starts. Undefined for a guest of the host's own architecture (the KVM check decides).
 */
export function emulatedAccelerator(
  mode: KvmMode,
  guest: GuestPlatform
): { accel: Accelerator; warning?: string; error?: string } | undefined {
  if (!guest.emulated) return undefined
  const why = `an ${guest.arch} guest cannot use KVM on an ${hostName(guest)} host`
  if (mode === 'require') {
    return {
      accel: 'kvm',
      error:
        `input 'kvm' is 'require', but ${why}: KVM runs only guests of the host's own ` +
        `architecture. Run the job on an ${guest.arch} runner` +
        (guest.arch === 'aarch64' ? ' (e.g. ubuntu-24.04-arm)' : '') +
        ", or set 'kvm: auto' to emulate it under TCG"
    }
  }
  if (mode === 'off') return { accel: 'tcg' }
  return {
    accel: 'tcg',
    warning: `${why}; booting it under TCG, ${EMULATION_COST}. An ${guest.arch} runner boots it with KVM.`
  }
}

/**
 * The boot's time: input 'boot-timeout' as given, except its default for an emulated guest,
 * which is EMULATED_TIMEOUT_FACTOR times longer. `said` is how the boot error names it.
 */
export function bootTimeoutFor(
  seconds: number,
  guest: GuestPlatform
): { seconds: number; said: string } {
  if (!guest.emulated || seconds !== DEFAULT_BOOT_TIMEOUT) {
    return { seconds, said: `input 'boot-timeout' is ${seconds} s` }
  }
  const scaled = seconds * EMULATED_TIMEOUT_FACTOR
  return {
    seconds: scaled,
    said: `input 'boot-timeout' is its default, ${seconds} s, ×${EMULATED_TIMEOUT_FACTOR} for an emulated guest: ${scaled} s`
  }
}
