// The apt source's commands and its retry policy. Pure: apt.ts runs what this decides.
//
// Users installing QEMU on GitHub's runners report flaky mirror downloads, and the image's own
// unattended upgrades can hold dpkg's lock for a while: those are retried, a few times, with a
// growing pause. A package apt does not know is usually a stale index: `apt-get update`, once.
import { capLines } from '../shared/bounds.js'
import type { Firmware, GuestArch } from '../model/index.js'

export type AptStep = 'install' | 'update'

/**
 * The packages that give the guest's qemu-system-<arch> and its UEFI firmware on Debian and Ubuntu:
 * OVMF for a uefi PC, AAVMF (qemu-efi-aarch64) always for arm64, which boots only through UEFI.
 */
export function aptPackages(firmware: Firmware, arch: GuestArch = 'x86_64'): string[] {
  if (arch === 'aarch64') return ['qemu-system-arm', 'qemu-efi-aarch64']
  return firmware === 'uefi' ? ['qemu-system-x86', 'ovmf'] : ['qemu-system-x86']
}

export interface AptCommand {
  command: string
  args: string[]
}

/**
 * One apt-get call, direct as root, else through `sudo -n` (never a password prompt: a sudo that
 * wants one fails at once). DEBIAN_FRONTEND goes on sudo's command line (its env_reset drops it).
 */
export function aptCommand(step: AptStep, packages: string[], asRoot: boolean): AptCommand {
  const options = ['-q', '-y', '-o', 'DPkg::Lock::Timeout=120', '-o', 'Acquire::Retries=3']
  const action =
    step === 'update' ? ['update'] : ['install', '--no-install-recommends', ...packages]
  const aptGet = ['apt-get', ...options, ...action]
  if (asRoot) return { command: 'env', args: ['DEBIAN_FRONTEND=noninteractive', ...aptGet] }
  return { command: 'sudo', args: ['-n', 'DEBIAN_FRONTEND=noninteractive', ...aptGet] }
}

/**
 * What went wrong, from apt-get's (and sudo's) output: `denied` (no root, no passwordless sudo),
 * `needs-update` (apt's index does not know the package or points at files the mirror no longer
 * has), `transient` (the network, the mirror or dpkg's lock) or `other`.
 */
export type AptFailure = 'denied' | 'needs-update' | 'transient' | 'other'

const DENIED =
  /a password is required|a terminal is required|not in the sudoers file|are you root\?|\(13: Permission denied\)|sudo: not found|sudo: command not found/i
const STALE = /\b404\s+Not Found\b/i
const TRANSIENT =
  /Temporary failure resolving|Could not resolve|Could not connect|Connection failed|Connection timed out|Connection reset|Error reading from server|Hash Sum mismatch|File has unexpected size|Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock (?:the )?(?:administration )?directory|\b50[0234]\s+\w|Undetermined Error|Failed to fetch/i
const UNKNOWN_PACKAGE =
  /Unable to locate package|has no installation candidate|is not available, but is referred to|maybe run apt-get update/i

export function classifyAptFailure(text: string): AptFailure {
  const output = capLines(text)
  if (DENIED.test(output)) return 'denied'
  if (STALE.test(output)) return 'needs-update'
  if (TRANSIENT.test(output)) return 'transient'
  if (UNKNOWN_PACKAGE.test(output)) return 'needs-update'
  return 'other'
}

/** Pauses before the 2nd and 3rd try of a step that failed for a transient reason. */
export const APT_BACKOFF_MS: readonly number[] = [5_000, 15_000]
/** Failed apt-get calls after which the source gives up, whatever the reason. */
export const APT_MAX_FAILURES = APT_BACKOFF_MS.length + 1

export interface AptNext {
  /** The next call, or undefined: give up. */
  step?: AptStep
  delayMs: number
  why: string
}

/**
 * After a failed call: what to do next. `failures` counts the failed calls so far (this one
 * included); `updated` says whether an `apt-get update` has already succeeded.
 */
export function nextAptStep(
  failed: AptStep,
  failure: AptFailure,
  failures: number,
  updated: boolean
): AptNext {
  if (failure === 'denied') {
    return {
      delayMs: 0,
      why: 'apt-get needs root: this user is not root and sudo asks for a password'
    }
  }
  if (failures >= APT_MAX_FAILURES) {
    return { delayMs: 0, why: `apt-get failed ${failures} times` }
  }
  if (failure === 'needs-update') {
    if (failed === 'install' && !updated) {
      return { step: 'update', delayMs: 0, why: 'the package index looks stale: apt-get update' }
    }
    return {
      delayMs: 0,
      why: updated
        ? 'the packages are not in this system’s apt sources, even after apt-get update'
        : 'apt-get update could not refresh the package index'
    }
  }
  if (failure === 'transient') {
    const delayMs = APT_BACKOFF_MS[Math.min(failures - 1, APT_BACKOFF_MS.length - 1)]
    return {
      step: failed,
      delayMs,
      why: `a mirror or lock problem: trying again in ${delayMs / 1000} s`
    }
  }
  return { delayMs: 0, why: 'apt-get failed for a reason a retry would not change' }
}
