// What differs between guest architectures, in one place: the QEMU binary, the machine, the CPU
// model per accelerator, the serial console's device, and where distributions put the UEFI
// firmware. Pure (the environment is passed in).
import { join } from 'node:path'
import type { Accelerator, Firmware, GuestArch } from '../model/index.js'

/** The qemu-system binary that emulates (or, under KVM, virtualizes) a guest of `arch`. */
export function qemuBinary(arch: GuestArch): string {
  return arch === 'aarch64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64'
}

/** The architecture of the machine this runs on, in the guests' words (undefined: neither). */
export function hostArch(nodeArch: string = process.arch): GuestArch | undefined {
  if (nodeArch === 'x64') return 'x86_64'
  if (nodeArch === 'arm64') return 'aarch64'
  return undefined
}

/** Whether the guest runs on the host's architecture, the only case KVM can run it. */
export function isNative(arch: GuestArch, host: GuestArch | undefined = hostArch()): boolean {
  return arch === host
}

/** aarch64's `virt` machine boots only through UEFI; a PC boots what input 'firmware' says. */
export function usesUefi(arch: GuestArch, firmware: Firmware): boolean {
  return arch === 'aarch64' || firmware === 'uefi'
}

/** The serial console's device name inside the guest (for the advice when it stays empty). */
export function serialConsole(arch: GuestArch): string {
  return arch === 'aarch64' ? 'ttyAMA0' : 'ttyS0'
}

/**
 * The CPU model: on a PC `max` under both (`host` aborts on hosts whose KVM cannot set the host's
 * MSRs); on arm64 `host` under KVM, and under TCG `max` with the cheap pointer-authentication
 * algorithm (the architected one, emulated, makes the kernel start ~4× slower).
 */
export function cpuModel(arch: GuestArch, accel: Accelerator): string {
  if (arch === 'x86_64') return 'max'
  return accel === 'kvm' ? 'host' : 'max,pauth-impdef=on'
}

export interface UefiFiles {
  /** Read-only firmware code (pflash unit 0). */
  code: string
  /** The variable store template; each boot writes a private copy of it (pflash unit 1). */
  vars: string
}

/** Where distributions and nixpkgs put the UEFI firmware for `arch`: [code, vars], most specific first. */
export function uefiCandidates(
  arch: GuestArch,
  env: NodeJS.ProcessEnv = process.env
): [string, string][] {
  return arch === 'aarch64' ? aavmfCandidates(env) : ovmfCandidates(env)
}

function ovmfCandidates(env: NodeJS.ProcessEnv): [string, string][] {
  const pairs: [string, string][] = []
  // NixOS: $OVMF (pkgs.OVMF.fd) holds FV/OVMF_CODE.fd and FV/OVMF_VARS.fd.
  for (const root of [env.OVMF, env.OVMF_FD].filter((v): v is string => Boolean(v))) {
    pairs.push([join(root, 'FV', 'OVMF_CODE.fd'), join(root, 'FV', 'OVMF_VARS.fd')])
    pairs.push([join(root, 'OVMF_CODE.fd'), join(root, 'OVMF_VARS.fd')])
  }
  for (const dir of ['/usr/share/OVMF', '/usr/share/ovmf', '/usr/share/edk2/ovmf']) {
    pairs.push([join(dir, 'OVMF_CODE_4M.fd'), join(dir, 'OVMF_VARS_4M.fd')])
    pairs.push([join(dir, 'OVMF_CODE.fd'), join(dir, 'OVMF_VARS.fd')])
  }
  pairs.push(['/usr/share/edk2/x64/OVMF_CODE.4m.fd', '/usr/share/edk2/x64/OVMF_VARS.4m.fd'])
  pairs.push(['/run/libvirt/nix-ovmf/OVMF_CODE.fd', '/run/libvirt/nix-ovmf/OVMF_VARS.fd'])
  pairs.push([
    '/run/libvirt/nix-ovmf/edk2-x86_64-code.fd',
    '/run/libvirt/nix-ovmf/edk2-i386-vars.fd'
  ])
  return pairs
}

/**
 * AAVMF: both files 64 MiB, the size `virt`'s flash banks want (the 2 MiB QEMU_EFI.fd boots only
 * with -bios, without a variable store). QEMU's own build (nixpkgs' qemu, upstream installs)
 * ships the same pair as share/qemu/edk2-aarch64-code.fd and edk2-arm-vars.fd.
 */
function aavmfCandidates(env: NodeJS.ProcessEnv): [string, string][] {
  const pairs: [string, string][] = []
  for (const root of [env.AAVMF, env.QEMU_EFI_AARCH64].filter((v): v is string => Boolean(v))) {
    pairs.push([join(root, 'AAVMF_CODE.fd'), join(root, 'AAVMF_VARS.fd')])
    pairs.push([
      join(root, 'share', 'qemu', 'edk2-aarch64-code.fd'),
      join(root, 'share', 'qemu', 'edk2-arm-vars.fd')
    ])
  }
  pairs.push(['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd'])
  pairs.push([
    '/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw',
    '/usr/share/edk2/aarch64/vars-template-pflash.raw'
  ])
  pairs.push(['/usr/share/qemu/edk2-aarch64-code.fd', '/usr/share/qemu/edk2-arm-vars.fd'])
  return pairs
}

/** The firmware's name and the package that ships it, for the error when none is found. */
export function uefiPackage(arch: GuestArch): { name: string; apt: string; nix: string } {
  return arch === 'aarch64'
    ? {
        name: 'AAVMF',
        apt: 'qemu-efi-aarch64',
        nix: 'set AAVMF to the directory holding AAVMF_CODE.fd and AAVMF_VARS.fd'
      }
    : { name: 'OVMF', apt: 'ovmf', nix: 'set OVMF to the output of pkgs.OVMF.fd' }
}
