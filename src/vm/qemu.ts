// QEMU's command line per guest architecture (pure), the UEFI firmware files, and a free host
// port for the SSH forward.
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import type { Accelerator, Firmware, GuestArch } from '../model/index.js'
import { cpuModel, uefiCandidates, uefiPackage, usesUefi, type UefiFiles } from './platform.js'

export interface QemuConfig {
  /** The guest's architecture: a PC (q35 or pc) or arm64's `virt`. */
  arch: GuestArch
  accel: Accelerator
  memoryMiB: number
  cpus: number
  iso: string
  firmware: Firmware
  /** Read-only UEFI code (OVMF, AAVMF; required for uefi and for aarch64). */
  ovmfCode?: string
  /** A writable copy of the UEFI variable store (required with ovmfCode). */
  ovmfVars?: string
  /** Host port forwarded to the guest's :22 on 127.0.0.1. */
  sshPort: number
  /** QEMU appends everything the guest prints on the serial port to this file. */
  serialLog: string
  qmpSocket: string
  /** Offered to the guest at boot as the systemd credential ssh.authorized_keys.root. */
  rootPublicKey?: string
}

/**
 * The systemd credential that provisions root's authorized_keys (systemd's provision.conf), as an
 * SMBIOS type 11 string: an image that takes its key at boot need not bake in a per-run key.
 */
export const ROOT_KEY_CREDENTIAL = 'io.systemd.credential:ssh.authorized_keys.root'

/** QEMU's option values separate sub-options with commas; a comma in a value is doubled. */
export function qemuEscape(value: string): string {
  return value.replaceAll(',', ',,')
}

/**
 * The whole QEMU command line, without the binary. The serial console goes to QEMU's stdout (which
 * the Machine reads line by line) and, raw, to `serialLog`.
 */
export function qemuArgs(config: QemuConfig): string[] {
  const args: string[] = []
  const arm = config.arch === 'aarch64'
  const uefi = usesUefi(config.arch, config.firmware)
  args.push('-machine', arm ? 'virt' : uefi ? 'q35' : 'pc')
  args.push('-accel', config.accel, '-cpu', cpuModel(config.arch, config.accel))
  args.push('-m', String(config.memoryMiB), '-smp', String(config.cpus))
  if (uefi) {
    if (!config.ovmfCode || !config.ovmfVars) {
      throw new Error('UEFI needs the OVMF (AAVMF) code and a writable copy of its variables.')
    }
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${qemuEscape(config.ovmfCode)}`)
    args.push('-drive', `if=pflash,format=raw,file=${qemuEscape(config.ovmfVars)}`)
  }
  args.push(...(arm ? virtioCdrom(config.iso) : ideCdrom(config.iso)))
  args.push(
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${config.sshPort}-:22`,
    '-device',
    // No option ROM on virt: UEFI drives virtio-net itself, and Debian's qemu-system-arm only
    // recommends the package with efi-virtio.rom (without it QEMU refuses to start).
    arm ? 'virtio-net-pci,netdev=net0,romfile=' : 'virtio-net-pci,netdev=net0'
  )
  args.push(
    '-chardev',
    `stdio,id=serial0,signal=off,logfile=${qemuEscape(config.serialLog)},logappend=on`,
    '-serial',
    'chardev:serial0'
  )
  if (config.rootPublicKey) {
    args.push(
      '-smbios',
      `type=11,value=${qemuEscape(`${ROOT_KEY_CREDENTIAL}=${config.rootPublicKey}`)}`
    )
  }
  args.push('-qmp', `unix:${qemuEscape(config.qmpSocket)},server=on,wait=off`)
  // virt has no VGA: its only screen is the serial console, so it has no screenshots.
  args.push('-monitor', 'none', '-display', 'none', ...(arm ? [] : ['-vga', 'std']), '-no-reboot')
  return args
}

/** The PC's CD-ROM on its IDE controller, booted first. */
function ideCdrom(iso: string): string[] {
  return [
    '-drive',
    `file=${qemuEscape(iso)},format=raw,media=cdrom,readonly=on,if=ide`,
    '-boot',
    'order=d'
  ]
}

/**
 * virt has no IDE: a CD-ROM on virtio-scsi (`-cdrom` there would be a read-only virtio-blk disk,
 * which boots too, but is no CD to the guest). UEFI boots it as removable media.
 */
function virtioCdrom(iso: string): string[] {
  return [
    '-drive',
    `file=${qemuEscape(iso)},format=raw,media=cdrom,readonly=on,if=none,id=cd0`,
    '-device',
    'virtio-scsi-pci,id=scsi0',
    '-device',
    'scsi-cd,drive=cd0,bus=scsi0.0'
  ]
}

export type OvmfFiles = UefiFiles

/** The first UEFI code/vars pair for `arch` that exists; throws naming the package when there is none. */
export function findUefiFirmware(
  arch: GuestArch,
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync
): UefiFiles {
  const candidates = uefiCandidates(arch, env)
  const found = candidates.find(([code, vars]) => exists(code) && exists(vars))
  if (found) return { code: found[0], vars: found[1] }
  const firmware = uefiPackage(arch)
  const why = arch === 'aarch64' ? 'an aarch64 guest boots through UEFI' : "firmware 'uefi'"
  throw new Error(
    `${why} needs ${firmware.name}, and none was found (looked for ${candidates
      .slice(0, 4)
      .map(([code]) => code)
      .join(', ')}, …). Install the '${firmware.apt}' package (apt-get install ${firmware.apt}), ` +
      `or on NixOS ${firmware.nix}.`
  )
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}
