// The path source: the guest's qemu-system-<arch> on PATH, its UEFI firmware (OVMF, AAVMF) from the
// usual places. Milliseconds.
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { errorMessage } from '../shared/process.js'
import { findUefiFirmware, qemuBinary, usesUefi } from '../vm/index.js'
import type { QemuTarget, SourceResult } from './plan.js'

/** The first executable file called name in PATH's absolute directories. */
export function findOnPath(name: string, pathVariable: string): string | undefined {
  for (const dir of pathVariable.split(delimiter).filter(d => d.startsWith('/'))) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // Not here.
    }
  }
  return undefined
}

/** UEFI firmware when the guest boots through UEFI (undefined for bios), or why there is none. */
export function ovmfFor(
  target: QemuTarget,
  env: NodeJS.ProcessEnv
): { ovmf?: { code: string; vars: string }; reason?: string } {
  if (!usesUefi(target.arch, target.firmware)) return {}
  try {
    return { ovmf: findUefiFirmware(target.arch, env) }
  } catch (error) {
    return { reason: errorMessage(error) }
  }
}

export function fromPath(target: QemuTarget, env: NodeJS.ProcessEnv): SourceResult {
  const name = qemuBinary(target.arch)
  const binary = findOnPath(name, env.PATH ?? '')
  if (!binary) return { reason: `${name} is not on PATH (${env.PATH || 'empty'})` }
  const { ovmf, reason } = ovmfFor(target, env)
  if (reason) return { reason: `${binary} is there, but no UEFI firmware: ${reason}` }
  return { binary, ovmf }
}
