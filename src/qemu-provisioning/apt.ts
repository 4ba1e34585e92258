// The apt source: `apt-get install` of the guest's QEMU (qemu-system-x86, and ovmf for uefi; for
// arm64 qemu-system-arm and qemu-efi-aarch64), as root or through passwordless sudo, on Debian and
// Ubuntu only, with apt-policy.ts's retries. An apt-get that runs is never
// stopped half-way (dpkg would leave the machine's packages broken for the later steps): the stop
// signal only prevents the next call.
import { existsSync, readFileSync } from 'node:fs'
import type { StageContext } from '../shared/context.js'
import type { GuestArch } from '../model/index.js'
import { qemuBinary } from '../vm/index.js'
import { run } from '../shared/process.js'
import {
  aptCommand,
  aptPackages,
  classifyAptFailure,
  nextAptStep,
  type AptStep
} from './apt-policy.js'
import { describeOs, isDebianLike, parseOsRelease } from './os-release.js'
import { findOnPath, ovmfFor } from './path.js'
import { lastError, type QemuTarget, type SourceResult } from './plan.js'
import { allowedEnv } from '../shared/child-env.js'

/** Machine facts, injectable so tests need not be root or on Debian. */
export interface AptEnvironment {
  osReleaseFiles: string[]
  /** Where Debian's and Ubuntu's qemu-system-x86 (qemu-system-arm) puts the guest's binary. */
  qemuPath: string
  asRoot: boolean
}

export function defaultAptEnvironment(arch: GuestArch = 'x86_64'): AptEnvironment {
  return {
    osReleaseFiles: ['/etc/os-release', '/usr/lib/os-release'],
    qemuPath: `/usr/bin/${qemuBinary(arch)}`,
    asRoot: process.getuid?.() === 0
  }
}

function readOsRelease(files: string[]): Record<string, string> | undefined {
  const file = files.find(f => existsSync(f))
  return file ? parseOsRelease(readFileSync(file, 'utf8')) : undefined
}

export async function fromApt(
  target: QemuTarget,
  ctx: StageContext,
  signals: { stop: AbortSignal; cancel: AbortSignal },
  machine: AptEnvironment = defaultAptEnvironment(target.arch)
): Promise<SourceResult> {
  const os = readOsRelease(machine.osReleaseFiles)
  if (!os)
    return {
      reason: `no os-release file (${machine.osReleaseFiles.join(', ')}): not Debian or Ubuntu`
    }
  if (!isDebianLike(os)) return { reason: `${describeOs(os)} is not Debian or Ubuntu` }
  if (!machine.asRoot && !findOnPath('sudo', ctx.env.PATH ?? '')) {
    return { reason: 'this user is not root and there is no sudo on PATH' }
  }

  const packages = aptPackages(target.firmware, target.arch)
  const env = allowedEnv(ctx)
  let step: AptStep = 'install'
  let failures = 0
  let updated = false
  for (;;) {
    if (signals.stop.aborted) return { reason: 'stopped before apt-get ran', stopped: true }
    const { command, args } = aptCommand(step, packages, machine.asRoot)
    ctx.log.info(`QEMU (apt): ${command} ${args.join(' ')}`)
    // Only cancellation ends a running apt-get (the runner would kill it anyway).
    const ran = await run(command, args, { env, signal: signals.cancel })
    if (ran.exitCode === 0) {
      if (step === 'install') break
      updated = true
      step = 'install'
      continue
    }
    if (ran.aborted) return { reason: 'stopped while apt-get ran', stopped: true }
    failures++
    const output = ran.startError ?? `${ran.stdout}\n${ran.stderr}`
    const next = nextAptStep(step, classifyAptFailure(output), failures, updated)
    const said = lastError(output)
    if (!next.step) return { reason: `${next.why}; apt-get ${step} said: ${said}` }
    ctx.log.echo('QEMU apt', `apt-get ${step} failed (${said}); ${next.why}`)
    await pause(next.delayMs, AbortSignal.any([signals.stop, signals.cancel]))
    step = next.step
  }
  if (!existsSync(machine.qemuPath)) {
    return {
      reason: `apt-get installed ${packages.join(' ')}, but ${machine.qemuPath} is not there`
    }
  }
  const { ovmf, reason } = ovmfFor(target, ctx.env)
  if (reason) return { reason: `apt-get installed ${packages.join(' ')}, but ${reason}` }
  return { binary: machine.qemuPath, ovmf }
}

/** Waits ms, or less when the signal fires first. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal?.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
