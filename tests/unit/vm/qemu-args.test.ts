import { describe, expect, it } from 'vitest'
import { findUefiFirmware, qemuArgs, qemuEscape, type QemuConfig } from '../../../src/vm/qemu.js'

const base: QemuConfig = {
  arch: 'x86_64',
  accel: 'tcg',
  memoryMiB: 2048,
  cpus: 2,
  iso: '/nix/store/abc-image/iso/nixos.iso',
  firmware: 'bios',
  sshPort: 40022,
  serialLog: '/report/vm/serial.log',
  qmpSocket: '/tmp/biv-x/qmp.sock'
}

/** The value that follows an option, for every occurrence. */
function values(args: string[], option: string): string[] {
  return args.flatMap((arg, index) => (arg === option ? [args[index + 1]] : []))
}

describe('qemuArgs', () => {
  it('boots a BIOS ISO under TCG with the forward, the console, QMP and no reboot', () => {
    const args = qemuArgs(base)
    expect(values(args, '-machine')).toEqual(['pc'])
    expect(values(args, '-accel')).toEqual(['tcg'])
    expect(values(args, '-cpu')).toEqual(['max'])
    expect(values(args, '-m')).toEqual(['2048'])
    expect(values(args, '-smp')).toEqual(['2'])
    expect(values(args, '-drive')).toEqual([
      'file=/nix/store/abc-image/iso/nixos.iso,format=raw,media=cdrom,readonly=on,if=ide'
    ])
    expect(values(args, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22'])
    expect(values(args, '-device')).toEqual(['virtio-net-pci,netdev=net0'])
    expect(values(args, '-chardev')).toEqual([
      'stdio,id=serial0,signal=off,logfile=/report/vm/serial.log,logappend=on'
    ])
    expect(values(args, '-serial')).toEqual(['chardev:serial0'])
    expect(values(args, '-qmp')).toEqual(['unix:/tmp/biv-x/qmp.sock,server=on,wait=off'])
    expect(values(args, '-display')).toEqual(['none'])
    expect(values(args, '-vga')).toEqual(['std'])
    expect(args).toContain('-no-reboot')
    expect(args.some(arg => arg.includes('pflash'))).toBe(false)
  })

  it('uses KVM with -cpu max (host aborts where KVM cannot set MSRs)', () => {
    const args = qemuArgs({ ...base, accel: 'kvm' })
    expect(values(args, '-accel')).toEqual(['kvm'])
    expect(values(args, '-cpu')).toEqual(['max'])
  })

  it('boots UEFI on q35 with read-only code and writable vars', () => {
    const args = qemuArgs({
      ...base,
      firmware: 'uefi',
      ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      ovmfVars: '/tmp/run/OVMF_VARS.fd'
    })
    expect(values(args, '-machine')).toEqual(['q35'])
    expect(values(args, '-drive').slice(0, 2)).toEqual([
      'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      'if=pflash,format=raw,file=/tmp/run/OVMF_VARS.fd'
    ])
  })

  it('refuses UEFI without the firmware files', () => {
    expect(() => qemuArgs({ ...base, firmware: 'uefi' })).toThrow(/OVMF/)
  })

  it("offers root's key at boot as the systemd credential, in an SMBIOS type 11 string", () => {
    expect(values(qemuArgs(base), '-smbios')).toEqual([])
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO+x/y=='
    expect(values(qemuArgs({ ...base, rootPublicKey: key }), '-smbios')).toEqual([
      `type=11,value=io.systemd.credential:ssh.authorized_keys.root=${key}`
    ])
    // A comma cannot end the value and add an option.
    const [smbios] = values(qemuArgs({ ...base, rootPublicKey: 'a,path=/x' }), '-smbios')
    expect(smbios).toBe('type=11,value=io.systemd.credential:ssh.authorized_keys.root=a,,path=/x')
  })

  it('doubles commas in paths so they cannot add options', () => {
    expect(qemuEscape('/a,b/c.iso')).toBe('/a,,b/c.iso')
    const args = qemuArgs({ ...base, iso: '/tmp/x,readonly=off.iso' })
    expect(values(args, '-drive')[0]).toBe(
      'file=/tmp/x,,readonly=off.iso,format=raw,media=cdrom,readonly=on,if=ide'
    )
  })
})

describe('qemuArgs for an aarch64 guest', () => {
  const arm: QemuConfig = {
    ...base,
    arch: 'aarch64',
    ovmfCode: '/usr/share/AAVMF/AAVMF_CODE.fd',
    ovmfVars: '/tmp/run/AAVMF_VARS.fd'
  }

  it('boots virt through AAVMF, the CD on virtio-scsi, the console on the PL011, no VGA', () => {
    const args = qemuArgs(arm)
    expect(values(args, '-machine')).toEqual(['virt'])
    expect(values(args, '-cpu')).toEqual(['max,pauth-impdef=on'])
    expect(values(args, '-drive')).toEqual([
      'if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd',
      'if=pflash,format=raw,file=/tmp/run/AAVMF_VARS.fd',
      'file=/nix/store/abc-image/iso/nixos.iso,format=raw,media=cdrom,readonly=on,if=none,id=cd0'
    ])
    expect(values(args, '-device')).toEqual([
      'virtio-scsi-pci,id=scsi0',
      'scsi-cd,drive=cd0,bus=scsi0.0',
      'virtio-net-pci,netdev=net0,romfile='
    ])
    expect(values(args, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22'])
    expect(values(args, '-serial')).toEqual(['chardev:serial0'])
    expect(values(args, '-vga')).toEqual([])
    expect(values(args, '-boot')).toEqual([])
  })

  it("takes the host's CPU under KVM, and UEFI whatever input firmware says", () => {
    expect(values(qemuArgs({ ...arm, accel: 'kvm' }), '-cpu')).toEqual(['host'])
    expect(() => qemuArgs({ ...base, arch: 'aarch64', firmware: 'bios' })).toThrow(/AAVMF/)
  })

  it('finds AAVMF where Debian and Ubuntu put it, and names its package when absent', () => {
    const present = new Set(['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd'])
    expect(findUefiFirmware('aarch64', {}, path => present.has(path))).toEqual({
      code: '/usr/share/AAVMF/AAVMF_CODE.fd',
      vars: '/usr/share/AAVMF/AAVMF_VARS.fd'
    })
    expect(() => findUefiFirmware('aarch64', {}, () => false)).toThrow(/'qemu-efi-aarch64' package/)
  })
})

describe('findUefiFirmware for a PC', () => {
  it('finds the Debian/Ubuntu 4M pair', () => {
    const present = new Set(['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'])
    expect(findUefiFirmware('x86_64', {}, path => present.has(path))).toEqual({
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      vars: '/usr/share/OVMF/OVMF_VARS_4M.fd'
    })
  })

  it('prefers $OVMF (NixOS pkgs.OVMF.fd)', () => {
    const present = new Set([
      '/nix/store/x-OVMF-fd/FV/OVMF_CODE.fd',
      '/nix/store/x-OVMF-fd/FV/OVMF_VARS.fd',
      '/usr/share/OVMF/OVMF_CODE_4M.fd',
      '/usr/share/OVMF/OVMF_VARS_4M.fd'
    ])
    expect(
      findUefiFirmware('x86_64', { OVMF: '/nix/store/x-OVMF-fd' }, path => present.has(path)).code
    ).toBe('/nix/store/x-OVMF-fd/FV/OVMF_CODE.fd')
  })

  it('finds the libvirt NixOS path', () => {
    const present = new Set([
      '/run/libvirt/nix-ovmf/OVMF_CODE.fd',
      '/run/libvirt/nix-ovmf/OVMF_VARS.fd'
    ])
    expect(findUefiFirmware('x86_64', {}, path => present.has(path)).vars).toBe(
      '/run/libvirt/nix-ovmf/OVMF_VARS.fd'
    )
  })

  it('names the ovmf package when nothing is there', () => {
    expect(() => findUefiFirmware('x86_64', {}, () => false)).toThrow(/'ovmf' package/)
  })

  it('finds the firmware installed on this machine', () => {
    expect(findUefiFirmware('x86_64').code).toMatch(/OVMF_CODE/)
  })
})
