// Opens /dev/kvm to every user with a udev rule when it exists but this process cannot use it
// (GitHub's runners: root and the kvm group only). 0666 rather than the group, because Nix build
// users lose their supplementary groups.
import { constants } from 'node:fs'
import { access, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Log } from '../shared/log.js'
import type { KvmSetup } from '../model/index.js'
import { run, type RunResult } from '../shared/process.js'

export const KVM_UDEV_RULE = 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"\n'
export const KVM_UDEV_RULE_PATH = '/etc/udev/rules.d/99-boot-image-vm-kvm.rules'

export interface KvmDeviceOptions {
  devicePath: string
  rulePath: string
  /** The udevadm program (a stand-in in tests). */
  udevadm: string
  /** Root writes the rule itself; anyone else goes through `sudo -n`. */
  isRoot: boolean
  /** The sudo program (a stand-in in tests; default sudo). */
  sudo?: string
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
      : run(options.sudo ?? 'sudo', ['-n', command, ...args], { input })

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
    // tee does not make the folder (a machine without udev has no /etc/udev/rules.d).
    const folder = dirname(options.rulePath)
    failure = await step(`sudo -n mkdir -p ${folder}`, await sudo('mkdir', ['-p', folder]))
    if (!failure) {
      failure = await step(
        `sudo -n tee ${options.rulePath}`,
        await sudo('tee', [options.rulePath], KVM_UDEV_RULE)
      )
    }
    if (!failure)
      changes.push(`installed udev rule ${options.rulePath} (via sudo): ${KVM_UDEV_RULE.trim()}`)
  }
  let noUdev: string | undefined
  if (!failure) {
    const reload = await sudo(options.udevadm, ['control', '--reload-rules'])
    noUdev = udevAbsence(reload)
    if (!noUdev) failure = await step('udevadm control --reload-rules', reload)
  }
  if (!failure && !noUdev) {
    failure = await step(
      'udevadm trigger --name-match=kvm',
      await sudo(options.udevadm, ['trigger', '--name-match=kvm'])
    )
    if (!failure) changes.push('reloaded udev rules and re-triggered the kvm device')
  }

  // Without udev nothing will change the device: one look, no waiting.
  const usable = noUdev ? await options.usable(device) : await waitUntilUsable(options)
  const outcome = kvmOutcome({ device, viaSudo: !options.isRoot, failure, noUdev, usable })
  if (outcome.warn) log.warning(outcome.action, { title: 'KVM device' })
  else if (!usable) log.info(outcome.action)
  return { kvm: { action: outcome.action, deviceUsable: usable }, changes }
}

/**
 * Why udev cannot apply the rule, when udevadm's answer says there is no udev at all: no udevadm
 * (not found, or sudo says so), no udevd to send to, or udevadm ignoring requests in a chroot.
 * undefined when udev answered, or failed for another reason (that one is a real failure).
 */
export function udevAbsence(reload: RunResult): string | undefined {
  const said = `${reload.startError ?? ''}\n${reload.stderr}\n${reload.stdout}`
  if (/ENOENT|command not found|Unable to locate executable/i.test(said)) return 'no udevadm'
  if (/running in chroot, ignoring/i.test(said)) return 'udevadm ignores requests in a chroot'
  if (reload.exitCode !== 0 && /No such file or directory|Connection refused/.test(said)) {
    const line = said
      .split('\n')
      .find(l => /No such file|Connection refused/.test(l))
      ?.trim()
    return `no udev daemon runs (udevadm control: ${line})`
  }
  return undefined
}

export interface KvmOutcomeFacts {
  device: string
  viaSudo: boolean
  /** The step that failed, in words. */
  failure?: string
  /** Why there is no udev to apply the rule (udevAbsence). */
  noUdev?: string
  usable: boolean
}

/** The KVM action text, and whether it deserves a warning (not for a machine without udev). */
export function kvmOutcome(facts: KvmOutcomeFacts): { action: string; warn: boolean } {
  const { device, failure, noUdev, usable } = facts
  const how = facts.viaSudo ? ' (via sudo -n)' : ''
  if (noUdev) {
    const action = usable
      ? `${device} is read-write now; this machine has no udev (${noUdev})`
      : `${device} is not read-write for this process, and this machine has no udev to apply a rule ` +
        `(${noUdev}; a chroot or a container): the VM runs without KVM unless the host opens ${device} to this ` +
        `user (e.g. docker --device ${device}, or chmod 0666 ${device} on the host)`
    return { action, warn: false }
  }
  if (failure) {
    const action =
      `${device} was not read-write; udev rule not applied${how}: ${failure}` +
      (usable ? ` (it is usable now anyway)` : '')
    return { action, warn: !usable }
  }
  return usable
    ? { action: `udev rule installed${how}; ${device} is now read-write`, warn: false }
    : {
        action: `udev rule installed${how}, but ${device} is still not read-write for this process`,
        warn: true
      }
}

async function waitUntilUsable(options: KvmDeviceOptions): Promise<boolean> {
  const deadline = Date.now() + (options.settleMs ?? 3000)
  for (;;) {
    if (await options.usable(options.devicePath)) return true
    if (Date.now() >= deadline) return false
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
