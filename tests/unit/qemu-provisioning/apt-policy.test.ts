// The apt source's commands and retry policy (pure). Running apt for real is H1's runner image
// (a chroot without QEMU); here only the decisions: what runs, and what a failure leads to.
import { describe, expect, it } from 'vitest'
import {
  APT_BACKOFF_MS,
  APT_MAX_FAILURES,
  aptCommand,
  aptPackages,
  classifyAptFailure,
  nextAptStep
} from '../../../src/qemu-provisioning/apt-policy.js'

describe('aptCommand', () => {
  it('installs without recommends, through sudo -n when not root, directly as root', () => {
    const packages = aptPackages('uefi')
    expect(packages).toEqual(['qemu-system-x86', 'ovmf'])
    expect(aptPackages('bios')).toEqual(['qemu-system-x86'])
    // arm64 boots only through UEFI: AAVMF whatever input firmware says.
    expect(aptPackages('bios', 'aarch64')).toEqual(['qemu-system-arm', 'qemu-efi-aarch64'])
    const sudo = aptCommand('install', packages, false)
    expect(sudo.command).toBe('sudo')
    expect(sudo.args.slice(0, 3)).toEqual(['-n', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'])
    expect(sudo.args.slice(-4)).toEqual([
      'install',
      '--no-install-recommends',
      'qemu-system-x86',
      'ovmf'
    ])
    expect(sudo.args).toContain('DPkg::Lock::Timeout=120')
    const root = aptCommand('update', [], true)
    expect(root.command).toBe('env')
    expect(root.args[0]).toBe('DEBIAN_FRONTEND=noninteractive')
    expect(root.args[1]).toBe('apt-get')
    expect(root.args[root.args.length - 1]).toBe('update')
    expect(root.args).not.toContain('sudo')
  })
})

describe('classifyAptFailure', () => {
  it('tells a missing root from a stale index from a mirror blip', () => {
    expect(classifyAptFailure('sudo: a password is required')).toBe('denied')
    expect(
      classifyAptFailure(
        'E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?'
      )
    ).toBe('denied')
    expect(classifyAptFailure('E: Unable to locate package qemu-system-x86')).toBe('needs-update')
    expect(classifyAptFailure("E: Package 'ovmf' has no installation candidate")).toBe(
      'needs-update'
    )
    expect(
      classifyAptFailure(
        'E: Failed to fetch http://archive.ubuntu.com/ubuntu/pool/main/q/qemu/qemu-system-x86_8.2.2.deb  404  Not Found [IP: 1.2.3.4 80]\nE: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?'
      )
    ).toBe('needs-update')
    expect(
      classifyAptFailure(
        'E: Failed to fetch http://azure.archive.ubuntu.com/ubuntu/pool/main/q/qemu/x.deb  Connection failed [IP: 1.2.3.4 80]\nE: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?'
      )
    ).toBe('transient')
    expect(classifyAptFailure("W: Temporary failure resolving 'archive.ubuntu.com'")).toBe(
      'transient'
    )
    expect(classifyAptFailure('E: Failed to fetch …  Hash Sum mismatch')).toBe('transient')
    expect(
      classifyAptFailure(
        'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1234 (unattended-upgr)'
      )
    ).toBe('transient')
    expect(classifyAptFailure('E: Sub-process /usr/bin/dpkg returned an error code (1)')).toBe(
      'other'
    )
  })
})

describe('nextAptStep', () => {
  it('updates once when the index is stale, then gives up if the package is still unknown', () => {
    expect(nextAptStep('install', 'needs-update', 1, false)).toMatchObject({
      step: 'update',
      delayMs: 0
    })
    const after = nextAptStep('install', 'needs-update', 2, true)
    expect(after.step).toBeUndefined()
    expect(after.why).toMatch(/even after apt-get update/)
  })

  it('retries a mirror blip with a growing pause, a bounded number of times', () => {
    const first = nextAptStep('install', 'transient', 1, false)
    const second = nextAptStep('install', 'transient', 2, false)
    expect(first).toMatchObject({ step: 'install', delayMs: APT_BACKOFF_MS[0] })
    expect(second).toMatchObject({ step: 'install', delayMs: APT_BACKOFF_MS[1] })
    expect(second.delayMs).toBeGreaterThan(first.delayMs)
    expect(nextAptStep('update', 'transient', 1, false).step).toBe('update')
    expect(nextAptStep('install', 'transient', APT_MAX_FAILURES, false).step).toBeUndefined()
  })

  it('never retries what a retry cannot change', () => {
    expect(nextAptStep('install', 'denied', 1, false).step).toBeUndefined()
    expect(nextAptStep('install', 'denied', 1, false).why).toMatch(/needs root/)
    expect(nextAptStep('install', 'other', 1, false).step).toBeUndefined()
  })
})
