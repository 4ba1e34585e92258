// Pure parts of the image cache: the cache key (what Nix itself keys on: the system and the image's
// .drv hash), the restore keys that find the closest earlier entry, and which store paths fit in
// an entry of a given size.

export const KEY_PREFIX = 'boot-image-vm-v1'

export interface KeyParts {
  /** Nix's system, e.g. x86_64-linux. */
  system: string
  /** /nix/store/<hash>-<name>.drv */
  drvPath: string
  /** `nix --version`'s version, e.g. 2.8.0 or 2.26.3. */
  nixVersion: string
  /** A hash of the flake's lock file ('' when it has none). */
  flakeLockHash: string
}

export interface CacheKeys {
  key: string
  /** Most specific first: same lock and Nix, same lock, same system. */
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

export function cacheKeys(parts: KeyParts): CacheKeys {
  const system = segment(parts.system)
  const lock = parts.flakeLockHash ? parts.flakeLockHash.slice(0, 16) : 'nolock'
  const nix = `nix${nixGeneration(parts.nixVersion)}`
  const bySystem = `${KEY_PREFIX}-${system}-`
  const byLock = `${bySystem}${lock}-`
  const byNix = `${byLock}${nix}-`
  return { key: `${byNix}${storeHash(parts.drvPath)}`, restoreKeys: [byNix, byLock, bySystem] }
}

/** `StorePath:` of a .narinfo file. */
export function narinfoStorePath(text: string): string | undefined {
  return /^StorePath:\s*(\S+)\s*$/m.exec(text)?.[1]
}

export interface PathInfo {
  path: string
  narSize: number
  references: string[]
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
    infos.push({
      path,
      narSize: Number(item.narSize) || 0,
      references: references.map(r => (r.startsWith('/') ? r : dir + r))
    })
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

/** "31.2 MB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`
}
