import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { consoleLog } from '../../../src/log.js'
import {
  ensureKvmDevice,
  KVM_UDEV_RULE,
  type KvmDeviceOptions
} from '../../../src/nix/setup-kvm.js'

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
    const { options, log } = lab({ usable: async () => false, udevadm: '/nonexistent/udevadm' })
    const result = await ensureKvmDevice(options, log)
    expect(result.kvm.deviceUsable).toBe(false)
    expect(result.kvm.action).toMatch(
      /udev rule not applied: udevadm control --reload-rules failed/
    )
  })
})
