import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { consoleLog } from '../../../src/shared/log.js'
import {
  ensureKvmDevice,
  KVM_UDEV_RULE,
  kvmOutcome,
  udevAbsence,
  type KvmDeviceOptions
} from '../../../src/setup/setup-kvm.js'
import type { RunResult } from '../../../src/shared/process.js'

let work = ''
afterEach(() => {
  if (work) rmSync(work, { recursive: true, force: true })
  work = ''
})

/** A stand-in udevadm that logs its arguments; the device becomes usable after `trigger`. */
function lab(overrides: Partial<KvmDeviceOptions> = {}) {
  work = mkdtempSync(join(tmpdir(), 'bivm-kvm-'))
  const calls = join(work, 'calls')
  const udevadm = join(work, 'udevadm')
  writeFileSync(udevadm, `#!/bin/sh\necho "$*" >> '${calls}'\n`)
  chmodSync(udevadm, 0o755)
  const options: KvmDeviceOptions = {
    devicePath: '/dev/kvm-test',
    rulePath: join(work, 'etc/udev/rules.d/99-boot-image-vm-kvm.rules'),
    udevadm,
    isRoot: true,
    exists: async () => true,
    usable: async () => existsSync(calls) && readFileSync(calls, 'utf8').includes('trigger'),
    settleMs: 200,
    ...overrides
  }
  const lines: string[] = []
  return { options, calls, log: consoleLog(line => lines.push(line)), lines }
}

describe('ensureKvmDevice', () => {
  it('does nothing when the device is already usable', async () => {
    const { options, calls, log } = lab({ usable: async () => true })
    const result = await ensureKvmDevice(options, log)
    expect(result).toEqual({
      kvm: { action: '/dev/kvm-test already usable', deviceUsable: true },
      changes: []
    })
    expect(existsSync(options.rulePath)).toBe(false)
    expect(existsSync(calls)).toBe(false)
  })

  it('says so when there is no device', async () => {
    const { options, log } = lab({ exists: async () => false })
    const result = await ensureKvmDevice(options, log)
    expect(result.kvm).toEqual({
      action: 'no /dev/kvm-test on this machine (nothing to do)',
      deviceUsable: false
    })
  })

  it('installs the udev rule, reloads and triggers when the device is not read-write', async () => {
    const { options, calls, log } = lab()
    const result = await ensureKvmDevice(options, log)
    expect(readFileSync(options.rulePath, 'utf8')).toBe(
      'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"\n'
    )
    expect(readFileSync(calls, 'utf8')).toBe('control --reload-rules\ntrigger --name-match=kvm\n')
    expect(result.kvm).toEqual({
      action: 'udev rule installed; /dev/kvm-test is now read-write',
      deviceUsable: true
    })
    expect(result.changes[0]).toContain(`installed udev rule ${options.rulePath}`)
  })

  it('keeps an identical rule and warns when the device stays closed', async () => {
    const { options, log, lines } = lab({ usable: async () => false })
    await ensureKvmDevice(options, log)
    const again = await ensureKvmDevice(options, log)
    expect(readFileSync(options.rulePath, 'utf8')).toBe(KVM_UDEV_RULE)
    expect(again.changes[0]).toContain('was already in place')
    expect(again.kvm.deviceUsable).toBe(false)
    expect(again.kvm.action).toContain('still not read-write')
    expect(lines.some(line => line.startsWith('warning: KVM device'))).toBe(true)
  })

  it('reports a failing udevadm without throwing', async () => {
    const { options, log, lines } = lab({ usable: async () => false })
    writeFileSync(options.udevadm, '#!/bin/sh\necho "udevadm: Permission denied" >&2\nexit 1\n')
    const result = await ensureKvmDevice(options, log)
    expect(result.kvm.deviceUsable).toBe(false)
    expect(result.kvm.action).toMatch(
      /udev rule not applied: udevadm control --reload-rules failed: udevadm: Permission denied/
    )
    expect(lines.some(line => line.startsWith('warning: KVM device'))).toBe(true)
  })

  it('says once, without a warning, that a machine with no udevadm has no udev', async () => {
    const { options, log, lines } = lab({ usable: async () => false, udevadm: 'no-such-udevadm' })
    const result = await ensureKvmDevice(options, log)
    expect(result.kvm.deviceUsable).toBe(false)
    expect(result.kvm.action).toMatch(
      /^\/dev\/kvm-test is not read-write for this process, and this machine has no udev to apply a rule \(no udevadm; a chroot or a container\)/
    )
    expect(lines.filter(line => line.startsWith('warning:'))).toEqual([])
    expect(lines.filter(line => line.includes('no udev to apply'))).toHaveLength(1)
  })

  // As non-root: a stand-in sudo (drops -n, runs the rest as this user) over a fresh folder.
  function withSudo(udevadmScript: (calls: string) => string, closed = true) {
    const setup = lab({ isRoot: false, ...(closed ? { usable: async () => false } : {}) })
    const sudo = join(work, 'sudo')
    writeFileSync(
      sudo,
      `#!/bin/sh\n[ "$1" = -n ] && shift\necho "$*" >> '${work}/sudo-calls'\nexec "$@"\n`
    )
    chmodSync(sudo, 0o755)
    writeFileSync(setup.options.udevadm, udevadmScript(setup.calls))
    return { ...setup, options: { ...setup.options, sudo }, sudoCalls: join(work, 'sudo-calls') }
  }

  it('as non-root makes the rules folder with sudo -n mkdir -p before tee', async () => {
    const { options, log, sudoCalls } = withSudo(
      calls => `#!/bin/sh\necho "$*" >> '${calls}'\n`,
      false
    )
    const result = await ensureKvmDevice(options, log)
    expect(readFileSync(options.rulePath, 'utf8')).toBe(KVM_UDEV_RULE)
    const folder = join(work, 'etc/udev/rules.d')
    expect(readFileSync(sudoCalls, 'utf8').split('\n').slice(0, 2)).toEqual([
      `mkdir -p ${folder}`,
      `tee ${options.rulePath}`
    ])
    expect(result.kvm).toEqual({
      action: 'udev rule installed (via sudo -n); /dev/kvm-test is now read-write',
      deviceUsable: true
    })
  })

  it('as non-root, where no udevd runs (udevadm control fails), says so instead of warning', async () => {
    // What Debian 12's udevadm 252 prints with no udevd (run here, where none runs).
    const { options, log, lines } = withSudo(
      () =>
        '#!/bin/sh\necho "Failed to send reload request: No such file or directory" >&2\nexit 1\n'
    )
    const result = await ensureKvmDevice(options, log)
    expect(result.kvm.action).toContain(
      'no udev to apply a rule (no udev daemon runs (udevadm control: Failed to send reload request: No such file or directory); a chroot or a container)'
    )
    expect(lines.filter(line => line.startsWith('warning:'))).toEqual([])
  })
})

describe('udevAbsence and kvmOutcome (the decision)', () => {
  const result = (over: Partial<RunResult>): RunResult => ({
    exitCode: 1,
    stdout: '',
    stderr: '',
    timedOut: false,
    aborted: false,
    ...over
  })
  it.each([
    [{ exitCode: null, startError: 'Unable to locate executable file: udevadm.' }, 'no udevadm'],
    [{ stderr: 'sudo: udevadm: command not found\n' }, 'no udevadm'],
    [
      { stderr: 'Failed to send reload request: No such file or directory\n' },
      'no udev daemon runs (udevadm control: Failed to send reload request: No such file or directory)'
    ],
    [
      { exitCode: 0, stderr: 'Running in chroot, ignoring request.\n' },
      'udevadm ignores requests in a chroot'
    ],
    [{ exitCode: 0 }, undefined],
    [{ stderr: 'udevadm: Permission denied\n' }, undefined]
  ])('%j → %s', (over, expected) => {
    expect(udevAbsence(result(over))).toBe(expected)
  })

  it('warns only where udev ran and the device stayed closed', () => {
    const base = { device: '/dev/kvm', viaSudo: true }
    expect(kvmOutcome({ ...base, noUdev: 'no udevadm', usable: false }).warn).toBe(false)
    expect(kvmOutcome({ ...base, failure: 'tee failed', usable: false }).warn).toBe(true)
    expect(kvmOutcome({ ...base, failure: 'tee failed', usable: true }).warn).toBe(false)
    expect(kvmOutcome({ ...base, usable: false })).toEqual({
      action:
        'udev rule installed (via sudo -n), but /dev/kvm is still not read-write for this process',
      warn: true
    })
    expect(kvmOutcome({ ...base, usable: true }).warn).toBe(false)
  })
})
