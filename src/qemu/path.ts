// The path source: qemu-system-x86_64 on PATH, OVMF from the usual places. Milliseconds.
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { Firmware } from '../inputs.js'
import { errorMessage } from '../process.js'
import { QEMU_BINARY, findOvmf } from '../vm/index.js'
import type { SourceResult } from './plan.js'

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

/** OVMF for uefi (undefined for bios), or the reason there is none. */
export function ovmfFor(
  firmware: Firmware,
  env: NodeJS.ProcessEnv
): { ovmf?: { code: string; vars: string }; reason?: string } {
  if (firmware !== 'uefi') return {}
  try {
    return { ovmf: findOvmf(env) }
  } catch (error) {
    return { reason: errorMessage(error) }
  }
}

export function fromPath(firmware: Firmware, env: NodeJS.ProcessEnv): SourceResult {
  const binary = findOnPath(QEMU_BINARY, env.PATH ?? '')
  if (!binary) return { reason: `${QEMU_BINARY} is not on PATH (${env.PATH || 'empty'})` }
  const { ovmf, reason } = ovmfFor(firmware, env)
  if (reason) return { reason: `${binary} is there, but no OVMF: ${reason}` }
  return { binary, ovmf }
}
