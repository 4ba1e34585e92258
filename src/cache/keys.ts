// Pure parts of the image cache: the cache key, the restore key that finds the closest earlier
// entry, which derivations do not depend on the run's key, and which store paths fit in an entry.
import { createHash } from 'node:crypto'

/** v2: an entry of an image that bakes the run's key holds only what does not depend on the key. */
export const KEY_PREFIX = 'boot-image-vm-v2'

/**
 * What the entry holds. 'image': the image's .drv is the same whatever the key (it takes its key
 * at boot), so the entry holds the image and is keyed on its .drv, as Nix keys it. 'deps': the image
 * bakes the run's key, so the entry holds only the derivations that do not depend on it, and is
 * keyed on exactly that set (the same set on the next run means an exact hit).
 */
export type EntryBasis = { kind: 'image'; drvPath: string } | { kind: 'deps'; drvPaths: string[] }

export interface KeyParts {
  /** Nix's system, e.g. x86_64-linux. */
  system: string
  /** `<flake>#<image>`: entries of another image are never restored for this one. */
  installable: string
  basis: EntryBasis
  /** `nix --version`'s version, e.g. 2.8.0 or 2.26.3. */
  nixVersion: string
  /** A hash of the flake's lock file ('' when it has none). */
  flakeLockHash: string
}

export interface CacheKeys {
  key: string
  /**
   * One prefix: the same system, lock file, Nix minor, image and kind. Broader prefixes (another
   * image, another lock file) would bring entries whose paths this build does not use: a
   * download for nothing (README.md, "Cache"; its cost: docs/benchmarks.md, "restore in vain").
   */
  restoreKeys: string[]
}

/** The 32-character hash part of a store path. */
export function storeHash(path: string): string {
  const base = path.split('/').pop() ?? ''
  const match = /^([0-9a-df-np-sv-z]{32})-/.exec(base)
  if (!match) throw new Error(`not a store path: ${path}`)
  return match[1]
}

/** Major.minor: binary caches written by one Nix minor read back the same on it. */
export function nixGeneration(version: string): string {
  const match = /^(\d+)\.(\d+)/.exec(version)
  return match ? `${match[1]}.${match[2]}` : 'unknown'
}

function segment(text: string): string {
  return text.replace(/[^A-Za-z0-9._]+/g, '_') || 'none'
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** A short, readable and unique name for the image: `bootImage.1a2b3c4d`. */
export function imageId(installable: string): string {
  const attr = installable.slice(installable.lastIndexOf('#') + 1)
  return `${segment(attr).slice(0, 40)}.${sha256(installable).slice(0, 8)}`
}

/** The hash the entry is keyed on: the image's .drv hash, or a hash of the reusable .drv set. */
export function basisHash(basis: EntryBasis): string {
  if (basis.kind === 'image') return storeHash(basis.drvPath)
  return sha256([...new Set(basis.drvPaths)].sort().join('\n')).slice(0, 32)
}

export function cacheKeys(parts: KeyParts): CacheKeys {
  const system = segment(parts.system)
  const lock = parts.flakeLockHash ? parts.flakeLockHash.slice(0, 16) : 'nolock'
  const nix = `nix${nixGeneration(parts.nixVersion)}`
  const kind = parts.basis.kind === 'image' ? 'i' : 'd'
  const prefix = `${KEY_PREFIX}-${system}-${lock}-${nix}-${imageId(parts.installable)}-${kind}-`
  return { key: `${prefix}${basisHash(parts.basis)}`, restoreKeys: [prefix] }
}

/**
 * Splits the image's build closure (`nix-store -qR <drv>`, evaluated with the run's key) by the
 * closure evaluated with a second, throw-away key: a .drv in both does not depend on the key (a
 * .drv's path hashes all of its inputs), one only in the first does. Sources are neither.
 */
export function splitByKey(
  withRunKey: string[],
  withOtherKey: string[]
): { reusable: string[]; keyDependent: string[] } {
  const other = new Set(withOtherKey)
  const drvs = [...new Set(withRunKey)].filter(path => path.endsWith('.drv')).sort()
  return {
    reusable: drvs.filter(drv => other.has(drv)),
    keyDependent: drvs.filter(drv => !other.has(drv))
  }
}

/** `name` of a store path or .drv: `/nix/store/<hash>-foo-1.0.drv` → `foo-1.0`. */
export function storeName(path: string): string {
  return (path.split('/').pop() ?? path).replace(/^[0-9a-z]{32}-/, '').replace(/\.drv$/, '')
}

/** `StorePath:` of a .narinfo file. */
export function narinfoStorePath(text: string): string | undefined {
  return /^StorePath:\s*(\S+)\s*$/m.exec(text)?.[1]
}

export interface PathInfo {
  path: string
  narSize: number
  references: string[]
  /** As Nix prints it (`sha256:<base32>` or SRI); needed to describe a path in a .narinfo. */
  narHash?: string
  /** `name:base64`; a path signed by a trusted key came from a substituter. */
  signatures?: string[]
  /** Built in this store (not copied or substituted into it). */
  ultimate?: boolean
}

/** `nix path-info --json`: an array before Nix 2.19, an object keyed by path from then on. */
export function parsePathInfo(json: string): PathInfo[] {
  const parsed = JSON.parse(json) as unknown
  const entries: [string | undefined, Record<string, unknown>][] = Array.isArray(parsed)
    ? parsed.map(item => [undefined, item as Record<string, unknown>])
    : Object.entries(parsed as Record<string, Record<string, unknown> | null>).map(
        ([path, item]) => [path, item ?? { valid: false }]
      )
  const infos: PathInfo[] = []
  for (const [key, item] of entries) {
    const path = typeof item.path === 'string' ? item.path : key
    if (!path || item.valid === false) continue
    const references = Array.isArray(item.references)
      ? item.references.filter((r): r is string => typeof r === 'string')
      : []
    // 2.19+ lists references by base name; make them full paths like the older output.
    const dir = path.slice(0, path.lastIndexOf('/') + 1)
    const info: PathInfo = {
      path,
      narSize: Number(item.narSize) || 0,
      references: references.map(r => (r.startsWith('/') ? r : dir + r))
    }
    if (typeof item.narHash === 'string') info.narHash = item.narHash
    // `name:base64` strings; objects `{ keyName, sig }` in the JSON format version 3 (Nix 2.33+).
    if (Array.isArray(item.signatures)) {
      info.signatures = item.signatures.flatMap((sig: unknown) => {
        if (typeof sig === 'string') return [sig]
        const { keyName, sig: value } = (sig ?? {}) as { keyName?: unknown; sig?: unknown }
        return typeof keyName === 'string' ? [`${keyName}:${String(value ?? '')}`] : []
      })
    }
    if (typeof item.ultimate === 'boolean') info.ultimate = item.ultimate
    infos.push(info)
  }
  return infos
}

export interface SavePlan {
  /** Every path to copy (closed under references). */
  paths: string[]
  /** Their total NAR size (uncompressed). */
  bytes: number
  /** Roots whose closure did not fit, with the bytes it would have added. */
  leftOut: { root: string; bytes: number }[]
}

/**
 * Adds each root's closure in order (most valuable first) while the total stays within capBytes;
 * a root that does not fit is left out whole, so the entry never holds a path without its
 * references. Roots that are not in infos (not valid in the store) are skipped.
 */
export function planSave(roots: string[], infos: PathInfo[], capBytes: number): SavePlan {
  const byPath = new Map(infos.map(info => [info.path, info]))
  const chosen = new Set<string>()
  const leftOut: SavePlan['leftOut'] = []
  let bytes = 0
  for (const root of roots) {
    if (!byPath.has(root) || chosen.has(root)) continue
    const added: string[] = []
    const stack = [root]
    const seen = new Set<string>()
    while (stack.length) {
      const path = stack.pop() as string
      if (seen.has(path) || chosen.has(path)) continue
      seen.add(path)
      const info = byPath.get(path)
      if (!info) continue
      added.push(path)
      stack.push(...info.references)
    }
    const size = added.reduce((sum, path) => sum + (byPath.get(path)?.narSize ?? 0), 0)
    if (bytes + size > capBytes) {
      leftOut.push({ root, bytes: size })
      continue
    }
    bytes += size
    for (const path of added) chosen.add(path)
  }
  return { paths: [...chosen].sort(), bytes, leftOut }
}

/** paths ordered so that each comes after the paths it refers to (references outside are ignored). */
export function dependenciesFirst(paths: string[], infos: PathInfo[]): string[] {
  const inSet = new Set(paths)
  const byPath = new Map(infos.map(info => [info.path, info]))
  const ordered: string[] = []
  const done = new Set<string>()
  const visit = (root: string): void => {
    // Iterative depth-first walk: closures can be thousands of paths deep in references.
    const stack: [string, boolean][] = [[root, false]]
    while (stack.length) {
      const [path, expanded] = stack.pop() as [string, boolean]
      if (done.has(path)) continue
      if (expanded) {
        done.add(path)
        ordered.push(path)
        continue
      }
      stack.push([path, true])
      for (const ref of byPath.get(path)?.references ?? []) {
        if (ref !== path && inSet.has(ref) && !done.has(ref)) stack.push([ref, false])
      }
    }
  }
  for (const path of [...paths].sort()) visit(path)
  return ordered
}
