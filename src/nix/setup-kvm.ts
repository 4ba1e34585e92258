// Opens /dev/kvm to every user with a udev rule when it exists but this process cannot use it
// (GitHub's runners: root and the kvm group only). 0666 rather than the group, because Nix build
// users lose their supplementary groups.
import { constants } from 'node:fs'
import { access, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Log } from '../log.js'
import type { KvmSetup } from '../model.js'
import { run, type RunResult } from '../process.js'

export const KVM_UDEV_RULE = 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"\n'
export const KVM_UDEV_RULE_PATH = '/etc/udev/rules.d/99-boot-image-vm-kvm.rules'

export interface KvmDeviceOptions {
  devicePath: string
  rulePath: string
  /** The udevadm program (a stand-in in tests). */
  udevadm: string
  /** Root writes the rule itself; anyone else goes through `sudo -n`. */
  isRoot: boolean
  exists: (path: string) => Promise<boolean>
  /** Whether this process can open the device read-write. */
  usable: (path: string) => Promise<boolean>
  /** How long to wait for udev to apply the rule (default 3 s). */
  settleMs?: number
}

export function defaultKvmDeviceOptions(): KvmDeviceOptions {
  return {
    devicePath: '/dev/kvm',
    rulePath: KVM_UDEV_RULE_PATH,
    udevadm: 'udevadm',
    isRoot: process.getuid?.() === 0,
    exists: path =>
      access(path, constants.F_OK).then(
        () => true,
        () => false
      ),
    usable: path =>
      access(path, constants.R_OK | constants.W_OK).then(
        () => true,
        () => false
      )
  }
}

export interface KvmDeviceResult {
  kvm: KvmSetup
  changes: string[]
}

export async function ensureKvmDevice(
  options: KvmDeviceOptions,
  log: Log
): Promise<KvmDeviceResult> {
  const device = options.devicePath
  if (!(await options.exists(device))) {
    return {
      kvm: { action: `no ${device} on this machine (nothing to do)`, deviceUsable: false },
      changes: []
    }
  }
  if (await options.usable(device)) {
    return { kvm: { action: `${device} already usable`, deviceUsable: true }, changes: [] }
  }

  log.info(`${device} exists but is not read-write for this process: installing a udev rule.`)
  const changes: string[] = []
  const step = async (what: string, result: RunResult): Promise<string | undefined> => {
    if (result.exitCode === 0) return undefined
    const detail = (result.startError ?? result.stderr.trim()) || `exit code ${result.exitCode}`
    return `${what} failed: ${detail.split('\n').slice(-3).join(' ')}`
  }
  const sudo = (command: string, args: string[], input?: string): Promise<RunResult> =>
    options.isRoot
      ? run(command, args, { input })
      : run('sudo', ['-n', command, ...args], { input })

  let failure: string | undefined
  const current = await readFile(options.rulePath, 'utf8').catch(() => undefined)
  if (current === KVM_UDEV_RULE) {
    changes.push(`udev rule ${options.rulePath} was already in place`)
  } else if (options.isRoot) {
    try {
      await mkdir(dirname(options.rulePath), { recursive: true })
      await writeFile(options.rulePath, KVM_UDEV_RULE, { mode: 0o644 })
      changes.push(`installed udev rule ${options.rulePath}: ${KVM_UDEV_RULE.trim()}`)
    } catch (error) {
      failure = `writing ${options.rulePath} failed: ${(error as Error).message}`
    }
  } else {
    failure = await step(
      `sudo -n tee ${options.rulePath}`,
      await sudo('tee', [options.rulePath], KVM_UDEV_RULE)
    )
    if (!failure)
      changes.push(`installed udev rule ${options.rulePath} (via sudo): ${KVM_UDEV_RULE.trim()}`)
  }
  if (!failure) {
    failure = await step(
      'udevadm control --reload-rules',
      await sudo(options.udevadm, ['control', '--reload-rules'])
    )
  }
  if (!failure) {
    failure = await step(
      'udevadm trigger --name-match=kvm',
      await sudo(options.udevadm, ['trigger', '--name-match=kvm'])
    )
    if (!failure) changes.push('reloaded udev rules and re-triggered the kvm device')
  }

  const usable = await waitUntilUsable(options)
  const how = options.isRoot ? '' : ' (via sudo -n)'
  const action = failure
    ? `${device} was not read-write; udev rule not applied${how}: ${failure}` +
      (usable ? ` (it is usable now anyway)` : '')
    : usable
      ? `udev rule installed${how}; ${device} is now read-write`
      : `udev rule installed${how}, but ${device} is still not read-write for this process`
  if (!usable) log.warning(action, { title: 'KVM device' })
  return { kvm: { action, deviceUsable: usable }, changes }
}

async function waitUntilUsable(options: KvmDeviceOptions): Promise<boolean> {
  const deadline = Date.now() + (options.settleMs ?? 3000)
  for (;;) {
    if (await options.usable(options.devicePath)) return true
    if (Date.now() >= deadline) return false
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
