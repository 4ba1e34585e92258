// QEMU's command line (pure), the OVMF firmware files, and a free host port for the SSH forward.
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Accelerator } from '../model.js'
import type { Firmware } from '../inputs.js'

export const QEMU_BINARY = 'qemu-system-x86_64'

export interface QemuConfig {
  accel: Accelerator
  memoryMiB: number
  cpus: number
  iso: string
  firmware: Firmware
  /** Read-only UEFI code (required for uefi). */
  ovmfCode?: string
  /** A writable copy of the UEFI variable store (required for uefi). */
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
  const uefi = config.firmware === 'uefi'
  args.push('-machine', uefi ? 'q35' : 'pc')
  // -cpu max under both: `-cpu host` aborts on hosts whose KVM cannot set the host's MSRs.
  args.push('-accel', config.accel, '-cpu', 'max')
  args.push('-m', String(config.memoryMiB), '-smp', String(config.cpus))
  if (uefi) {
    if (!config.ovmfCode || !config.ovmfVars) {
      throw new Error('UEFI needs the OVMF code and a writable copy of the OVMF variables.')
    }
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${qemuEscape(config.ovmfCode)}`)
    args.push('-drive', `if=pflash,format=raw,file=${qemuEscape(config.ovmfVars)}`)
  }
  args.push(
    '-drive',
    `file=${qemuEscape(config.iso)},format=raw,media=cdrom,readonly=on,if=ide`,
    '-boot',
    'order=d'
  )
  args.push(
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${config.sshPort}-:22`,
    '-device',
    'virtio-net-pci,netdev=net0'
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
  args.push('-monitor', 'none', '-display', 'none', '-vga', 'std', '-no-reboot')
  return args
}

export interface OvmfFiles {
  code: string
  vars: string
}

/** Where distributions put OVMF: [code, vars] pairs, most specific first. */
export function ovmfCandidates(env: NodeJS.ProcessEnv = process.env): [string, string][] {
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

/** The first OVMF code/vars pair that exists; throws naming the package when there is none. */
export function findOvmf(
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync
): OvmfFiles {
  const candidates = ovmfCandidates(env)
  const found = candidates.find(([code, vars]) => exists(code) && exists(vars))
  if (found) return { code: found[0], vars: found[1] }
  throw new Error(
    `firmware 'uefi' needs OVMF, and none was found (looked for ${candidates
      .slice(0, 4)
      .map(([code]) => code)
      .join(', ')}, …). Install the 'ovmf' package (apt-get install ovmf), or on NixOS set ` +
      `OVMF to the output of pkgs.OVMF.fd.`
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
