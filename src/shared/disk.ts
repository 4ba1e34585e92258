// Free disk space, checked before the steps that fill the disk (the cache restore and save, the
// build), so a short disk is a warning with figures up front instead of a run that dies half-way
// with "No space left on device". A runner has ~14 GB free on `/`. The decision is pure
// (`diskShortage`); `checkDisk` is the thin statfs around it.
import { existsSync } from 'node:fs'
import { stat, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { errorMessage } from './process.js'

export interface DiskNeed {
  /** What the space is for, as the user knows it: '/nix', 'RUNNER_TEMP', 'TMPDIR', … */
  label: string
  /** Where the bytes go (need not exist yet: its nearest existing parent is checked). */
  path: string
  neededBytes: number
}

export interface DiskFree extends DiskNeed {
  /** The path statfs looked at. */
  checked: string
  /** The filesystem's device: needs on the same filesystem add up. */
  device?: number
  freeBytes?: number
  error?: string
}

const GIB = 2 ** 30
const gib = (bytes: number): string => `${(bytes / GIB).toFixed(1)} GiB`

/** The path when it exists, else its nearest existing parent ('/' at worst). Pure but for `exists`. */
export function nearestExisting(path: string, exists: (path: string) => boolean): string {
  let current = path
  while (!exists(current) && dirname(current) !== current) current = dirname(current)
  return current
}

/**
 * The warning when the free space does not cover what is needed, else undefined. Needs on one
 * filesystem add up; a filesystem whose free space could not be read is not judged. Pure.
 */
export function diskShortage(free: DiskFree[], purpose: string): string | undefined {
  const byDevice = new Map<string, DiskFree[]>()
  for (const entry of free) {
    if (entry.freeBytes === undefined) continue
    const key = entry.device === undefined ? entry.checked : String(entry.device)
    byDevice.set(key, [...(byDevice.get(key) ?? []), entry])
  }
  const short: string[] = []
  for (const entries of byDevice.values()) {
    const needed = entries.reduce((sum, entry) => sum + entry.neededBytes, 0)
    const freeBytes = entries[0].freeBytes ?? 0
    if (freeBytes >= needed) continue
    const where = entries.map(e => `${e.label} (${e.checked})`).join(' and ')
    short.push(`${where}: ${gib(freeBytes)} free, ${gib(needed)} needed`)
  }
  if (!short.length) return undefined
  return (
    `Low disk space before ${purpose}: ${short.join('; ')}. It may fail with "No space left on ` +
    `device": free space (on GitHub runners, remove preinstalled toolchains you do not use) or ` +
    `use a runner with a larger disk.`
  )
}

/** statfs of the path's nearest existing parent. Never throws. */
export async function freeSpace(need: DiskNeed): Promise<DiskFree> {
  const checked = nearestExisting(need.path, existsSync)
  try {
    const [stats, info] = await Promise.all([statfs(checked), stat(checked)])
    return { ...need, checked, device: info.dev, freeBytes: stats.bavail * stats.bsize }
  } catch (error) {
    return { ...need, checked, error: errorMessage(error) }
  }
}

/** The warning (see diskShortage) for these needs, or undefined when they fit. Never throws. */
export async function checkDisk(needs: DiskNeed[], purpose: string): Promise<string | undefined> {
  return diskShortage(await Promise.all(needs.map(freeSpace)), purpose)
}

// ---- what each step needs (estimates, documented as such in the warning's figures) ------------

/** Where a step's temporary files go: RUNNER_TEMP on a runner, else TMPDIR. */
function runnerTemp(env: NodeJS.ProcessEnv): DiskNeed['path'] {
  return env.RUNNER_TEMP || env.TMPDIR || tmpdir()
}

/**
 * Before the build: a NixOS ISO's closure is 1.5–3 GB in /nix and the ISO itself ~1 GB while
 * it is written (in the builder's temporary directory).
 */
export function buildNeeds(env: NodeJS.ProcessEnv): DiskNeed[] {
  return [
    { label: '/nix', path: '/nix/store', neededBytes: 4 * GIB },
    { label: 'TMPDIR', path: env.TMPDIR || tmpdir(), neededBytes: 1 * GIB }
  ]
}

/**
 * Before the cache restore: the entry's size is unknown until it is downloaded (at most
 * cache-max-size); 1 GiB each for the download (RUNNER_TEMP), the unpacked binary cache and its
 * import into /nix is what a typical image's entry takes.
 */
export function cacheRestoreNeeds(cacheDir: string, env: NodeJS.ProcessEnv): DiskNeed[] {
  return [
    { label: 'RUNNER_TEMP', path: runnerTemp(env), neededBytes: 1 * GIB },
    { label: 'the cache directory', path: cacheDir, neededBytes: 1 * GIB },
    { label: '/nix', path: '/nix/store', neededBytes: 1 * GIB }
  ]
}

/** Before the cache save: the binary cache directory and its archive, each up to maxBytes. */
export function cacheSaveNeeds(
  cacheDir: string,
  maxBytes: number,
  env: NodeJS.ProcessEnv
): DiskNeed[] {
  return [
    { label: 'the cache directory', path: cacheDir, neededBytes: maxBytes },
    { label: 'RUNNER_TEMP', path: runnerTemp(env), neededBytes: maxBytes }
  ]
}

/** The setup stage's disk.txt: free and total space where the store and the build's TMPDIR live. */
export async function diskReport(env: NodeJS.ProcessEnv): Promise<string> {
  const targets = [
    ['/nix', existsSync('/nix') ? '/nix' : '/'],
    ['TMPDIR', env.TMPDIR || tmpdir()]
  ]
  const lines = ['where\tpath\tfree\ttotal']
  for (const [label, path] of targets) {
    try {
      const stats = await statfs(path)
      const gib = (blocks: number) => `${((blocks * stats.bsize) / 2 ** 30).toFixed(1)} GiB`
      lines.push(`${label}\t${path}\t${gib(stats.bavail)}\t${gib(stats.blocks)}`)
    } catch (error) {
      lines.push(`${label}\t${path}\t(statfs failed: ${errorMessage(error)})`)
    }
  }
  return lines.join('\n') + '\n'
}
