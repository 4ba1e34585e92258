import { describe, expect, it } from 'vitest'
import { bootTimeoutFor, emulatedAccelerator, guestPlatform } from '../../../src/vm/guest.js'
import { cpuModel, hostArch, qemuBinary, usesUefi } from '../../../src/vm/platform.js'

const onPc = guestPlatform('aarch64', 'EFI/BOOT/BOOTAA64.EFI in the ISO', 'x86_64')
const native = guestPlatform('x86_64', 'EFI/BOOT/BOOTX64.EFI in the ISO', 'x86_64')

describe('a guest of another architecture', () => {
  it('is emulated; one of the host’s own is not', () => {
    expect(onPc).toMatchObject({ arch: 'aarch64', host: 'x86_64', emulated: true })
    expect(native.emulated).toBe(false)
    expect(guestPlatform('aarch64', 'x', 'aarch64').emulated).toBe(false)
  })

  it('fails fast under kvm: require, naming both architectures and the fix', () => {
    const choice = emulatedAccelerator('require', onPc)
    expect(choice?.error).toBe(
      "input 'kvm' is 'require', but an aarch64 guest cannot use KVM on an x86_64 host: KVM " +
        "runs only guests of the host's own architecture. Run the job on an aarch64 runner " +
        "(e.g. ubuntu-24.04-arm), or set 'kvm: auto' to emulate it under TCG"
    )
  })

  it('boots under TCG otherwise, warning what emulation costs', () => {
    const choice = emulatedAccelerator('auto', onPc)
    expect(choice?.accel).toBe('tcg')
    expect(choice?.warning).toMatch(
      /cannot use KVM on an x86_64 host.*emulated: expect ~10× slower/
    )
    expect(emulatedAccelerator('off', onPc)).toEqual({ accel: 'tcg' })
    expect(emulatedAccelerator('require', native)).toBeUndefined()
  })

  it("triples boot-timeout's default, and only the default", () => {
    expect(bootTimeoutFor(600, onPc)).toEqual({
      seconds: 1800,
      said: "input 'boot-timeout' is its default, 600 s, ×3 for an emulated guest: 1800 s"
    })
    expect(bootTimeoutFor(900, onPc)).toEqual({
      seconds: 900,
      said: "input 'boot-timeout' is 900 s"
    })
    expect(bootTimeoutFor(600, native).seconds).toBe(600)
  })
})

describe('the platform table', () => {
  it('names the binary, CPU and firmware per architecture', () => {
    expect(qemuBinary('x86_64')).toBe('qemu-system-x86_64')
    expect(qemuBinary('aarch64')).toBe('qemu-system-aarch64')
    expect(cpuModel('x86_64', 'kvm')).toBe('max')
    expect(cpuModel('aarch64', 'tcg')).toBe('max,pauth-impdef=on')
    expect(usesUefi('aarch64', 'bios')).toBe(true)
    expect(usesUefi('x86_64', 'bios')).toBe(false)
    expect(hostArch('x64')).toBe('x86_64')
    expect(hostArch('arm64')).toBe('aarch64')
    expect(hostArch('riscv64')).toBeUndefined()
  })
})
