import { describe, expect, it } from 'vitest'
import {
  kvmCheckArgs,
  kvmFailureFromOutput,
  kvmTestRom,
  kvmTestRomAarch64
} from '../../../src/vm/kvm.js'
import { chooseAccelerator } from '../../../src/vm/stage.js'

describe('kvmFailureFromOutput', () => {
  it('finds the ways a broken KVM shows itself', () => {
    expect(
      kvmFailureFromOutput(
        "qemu-system-x86_64: warning: host doesn't support requested feature\nKVM internal error. Suberror: 1\nemulation failure\n"
      )
    ).toBe('KVM internal error. Suberror: 1')
    expect(
      kvmFailureFromOutput(
        "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0\nqemu-system-x86_64: ../target/i386/kvm/kvm.c:3074: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed."
      )
    ).toBe('failed to set MSR 0x10a to 0x0')
    expect(
      kvmFailureFromOutput(
        'Could not access KVM kernel module: Permission denied\nqemu-system-x86_64: failed to initialize kvm: Permission denied'
      )
    ).toBe('Could not access KVM kernel module: Permission denied')
  })

  it('ignores ordinary QEMU warnings', () => {
    expect(
      kvmFailureFromOutput(
        "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]"
      )
    ).toBeUndefined()
    expect(kvmFailureFromOutput('')).toBeUndefined()
  })
})

describe('the KVM test guest', () => {
  it('is a 64 KiB BIOS whose reset vector jumps to the test', () => {
    const rom = kvmTestRom(1234)
    expect(rom.length).toBe(65536)
    expect([...rom.subarray(0xfff0, 0xfff5)]).toEqual([0xea, 0x00, 0x00, 0x00, 0xf0])
    expect(rom.readUInt32LE(rom.indexOf(Buffer.from([0x66, 0xb9])) + 2)).toBe(1234)
  })

  it("has an arm64 twin for virt: 'S', the loop's count in movz/movk, 'K', wfi", () => {
    const rom = kvmTestRomAarch64(0x12345678)
    expect(rom.length).toBe(65536)
    const words = Array.from({ length: 16 }, (_, i) => rom.readUInt32LE(i * 4))
    expect(words[0]).toBe(0xd2a12001) // movz x1, #0x0900, lsl #16: the PL011 at 0x09000000
    expect(words).toContain(0x52800000 | (0x5678 << 5)) // movz w0, #0x5678
    expect(words).toContain(0x72a00000 | (0x1234 << 5)) // movk w0, #0x1234, lsl #16
    expect(words).toContain(0xd503207f) // wfi
    const args = kvmCheckArgs('/tmp/rom', 'kvm', 'aarch64')
    expect(args[args.indexOf('-machine') + 1]).toBe('virt')
    expect(args[args.indexOf('-cpu') + 1]).toBe('host')
    expect(kvmCheckArgs('/tmp/rom', 'tcg', 'aarch64')).toContain('max,pauth-impdef=on')
  })

  it('runs under -accel kvm with nothing but the serial port', () => {
    const args = kvmCheckArgs('/tmp/rom')
    expect(args.slice(0, 2)).toEqual(['-accel', 'kvm'])
    expect(args).toContain('-nodefaults')
    expect(args[args.indexOf('-bios') + 1]).toBe('/tmp/rom')
  })
})

describe('chooseAccelerator', () => {
  const works = { runsGuest: true, reason: 'ok', durationMs: 80 }
  const broken = { runsGuest: false, reason: 'KVM internal error. Suberror: 1', durationMs: 3000 }

  it('uses KVM when it runs guests', () => {
    expect(chooseAccelerator('auto', works)).toEqual({ accel: 'kvm' })
    expect(chooseAccelerator('require', works)).toEqual({ accel: 'kvm' })
  })

  it('falls back to TCG under auto, saying why and what it costs', () => {
    const choice = chooseAccelerator('auto', broken)
    expect(choice.accel).toBe('tcg')
    expect(choice.warning).toMatch(/KVM internal error/)
    expect(choice.warning).toMatch(/5–10× slower/)
  })

  it('fails under require with the reason', () => {
    expect(chooseAccelerator('require', broken).error).toMatch(
      /'kvm' is 'require'.*KVM internal error/
    )
  })

  it('never uses KVM when off', () => {
    expect(chooseAccelerator('off', works)).toEqual({ accel: 'tcg' })
  })
})
