// The entry on disk: a Nix binary cache directory (`nix copy --to file://…`) holding only the
// paths worth storing, plus a manifest. Paths a substituter serves are left out even when a stored
// path refers to them: a binary cache accepts a path only when its references are in it, so they
// are described by stub .narinfo files while the entry is written and removed afterwards; the
// import fetches them from the substituters first and copies the stored paths with --no-recursive.
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { nixError } from '../shared/nix-error.js'
import { run } from '../shared/process.js'
import { nixFlags } from './actions-cache.js'
import { storeHash, type PathInfo } from './keys.js'

export const MANIFEST = 'boot-image-vm-entry.json'

export interface EntryManifest {
  version: 1
  /** Paths whose NARs are in the entry, dependencies first. */
  stored: string[]
  /** Paths the stored ones refer to that a substituter serves (not in the entry). */
  external: string[]
  /**
   * Stored paths outside the image's closure that a run uses too (the devshell's environment).
   * Only a hint that the entry has them: the import takes what the restore's own evaluation finds.
   */
  keep?: string[]
}

/** A .narinfo that describes a path without its NAR (enough for `nix copy --to` to skip it). Pure. */
export function stubNarinfo(info: PathInfo): string {
  return [
    `StorePath: ${info.path}`,
    'URL: nar/served-by-a-substituter.nar',
    'Compression: none',
    `NarHash: ${info.narHash}`,
    `NarSize: ${info.narSize}`,
    `References: ${info.references.map(ref => ref.split('/').pop()).join(' ')}`,
    ''
  ].join('\n')
}

export function readManifest(dir: string): EntryManifest | undefined {
  const file = join(dir, MANIFEST)
  if (!existsSync(file)) return undefined
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<EntryManifest>
  if (parsed.version !== 1 || !Array.isArray(parsed.stored)) return undefined
  return {
    version: 1,
    stored: parsed.stored,
    external: parsed.external ?? [],
    ...(parsed.keep ? { keep: parsed.keep } : {})
  }
}

/** Writes the entry; returns the compression used. Bounded by deadline (epoch ms). */
export async function writeEntry(
  nixPath: string,
  dir: string,
  manifest: EntryManifest,
  externalInfos: PathInfo[],
  env: Record<string, string>,
  deadline: number
): Promise<string> {
  for (const compression of ['zstd', 'xz']) {
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    const storeDir = dirname(manifest.stored[0] ?? '/nix/store/x')
    await writeFile(join(dir, 'nix-cache-info'), `StoreDir: ${storeDir}\n`)
    const stubs = externalInfos.map(info => join(dir, `${storeHash(info.path)}.narinfo`))
    await Promise.all(externalInfos.map((info, i) => writeFile(stubs[i], stubNarinfo(info))))
    let failed: string | undefined
    for (let i = 0; i < manifest.stored.length && !failed; i += 200) {
      const to = `file://${dir}?compression=${compression}`
      const args = ['copy', ...nixFlags, '--to', to, ...manifest.stored.slice(i, i + 200)]
      const copy = await run(nixPath, args, { env, timeoutMs: deadline - Date.now() })
      if (copy.timedOut) throw new Error('nix copy --to took too long')
      if (copy.exitCode !== 0) failed = copy.startError ?? (nixError(copy.stderr) || 'failed')
    }
    if (!failed) {
      await Promise.all(stubs.map(stub => rm(stub, { force: true })))
      await writeFile(join(dir, MANIFEST), JSON.stringify(manifest))
      return compression
    }
    // An older Nix without zstd says so; any other failure would fail with xz too.
    if (!/compression|zstd/i.test(failed)) throw new Error(`nix copy --to: ${failed}`)
  }
  throw new Error('nix copy --to failed with zstd and with xz compression')
}

/** Compressed bytes of the stored paths' NARs, by path (from their .narinfo FileSize). */
export async function entryFileSizes(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>()
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.narinfo')) continue
    const text = readFileSync(join(dir, name), 'utf8')
    const path = /^StorePath:\s*(\S+)/m.exec(text)?.[1]
    if (path) sizes.set(path, Number(/^FileSize:\s*(\d+)/m.exec(text)?.[1] ?? 0))
  }
  return sizes
}

export interface ImportOutcome {
  /** Stored paths this build uses, imported. */
  imported: string[]
  /** Stored paths this build does not use: not imported. */
  unused: string[]
  error?: string
  /** The daemon refused the unsigned paths (this user is not trusted). */
  untrusted?: boolean
}

/** The daemon's words for refusing unsigned paths from an untrusted user. */
export const UNTRUSTED = /lacks a (?:valid )?signature|not a trusted user|trusted-users/i

/**
 * Imports the stored paths this build uses (wanted, as the restore computed it): first the external
 * references from the substituters (`nix-store --realise`, as the build would), then the paths
 * with `nix copy --from … --no-recursive`. Bounded by deadline (epoch ms) and the stage's signal.
 */
export async function importEntry(
  nixPath: string,
  dir: string,
  wanted: Set<string>,
  env: Record<string, string>,
  deadline: number,
  signal?: AbortSignal
): Promise<ImportOutcome> {
  const manifest = readManifest(dir)
  if (!manifest) return { imported: [], unused: [], error: 'the entry has no manifest' }
  // Only what the restore computed this build uses: never what the entry's own manifest adds.
  const use = (path: string): boolean => wanted.has(path)
  const imported = manifest.stored.filter(use)
  const unused = manifest.stored.filter(path => !use(path))
  const fail = (error: string): ImportOutcome => ({
    imported: [],
    unused,
    error,
    untrusted: UNTRUSTED.test(error)
  })
  const external = manifest.external.filter(use)
  if (imported.length && external.length) {
    const nixStore = join(dirname(nixPath), 'nix-store')
    const realise = await run(nixStore, ['--realise', ...external], {
      env,
      signal,
      timeoutMs: deadline - Date.now()
    })
    if (realise.timedOut) return fail('fetching its references from the substituters took too long')
    if (realise.exitCode !== 0) {
      return fail(`its references are not in the substituters: ${nixError(realise.stderr)}`)
    }
  }
  // Dependencies first (the manifest's order), so that --no-recursive finds each reference.
  for (let i = 0; i < imported.length; i += 500) {
    const batch = imported.slice(i, i + 500)
    const args = ['copy', ...nixFlags, '--from', `file://${dir}`, '--no-check-sigs']
    const copy = await run(nixPath, [...args, '--no-recursive', ...batch], {
      env,
      signal,
      timeoutMs: deadline - Date.now()
    })
    if (copy.timedOut) return fail('the import (nix copy --from) took too long')
    if (copy.exitCode !== 0) {
      return fail(copy.startError ?? (nixError(copy.stderr) || 'nix copy --from failed'))
    }
  }
  return { imported, unused }
}
