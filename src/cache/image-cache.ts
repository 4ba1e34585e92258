// The image cache: the built image (and what built it) as a Nix binary cache directory in
// @actions/cache. Restored and imported with `nix copy --from` before the build, so an unchanged
// image is not rebuilt and a changed one builds only what changed; saved by the post step. Every
// failure is a warning, and both directions are bounded in time.
import { actionsCache, cacheLookup, quietly } from '../toolkit.js'
import { TIMED_OUT, withDeadline } from '../deadline.js'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readdir, readlink, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { StageContext } from '../context.js'
import type { CacheResult, NixInstallation } from '../model.js'
import { evaluateDrvPath, nixError } from '../nix/build.js'
import { errorMessage, run, stringEnv } from '../process.js'
import {
  CACHE_PATH,
  LOOKUP_TIMEOUT_MS,
  cacheUnavailable,
  directoryBytes,
  nixFlags
} from './actions-cache.js'
import { cacheKeys, formatBytes, narinfoStorePath } from './keys.js'
import type { CacheSaveState } from './save.js'

export { saveImageCache, type CacheSaveState } from './save.js'

export interface CacheRestoreRequest {
  flake: string
  image: string
  /** The key variable, exactly as the host build gets it (the .drv depends on it). */
  keyEnv: Record<string, string>
  /** Report directory of the host build (eval.log goes there). */
  buildDir: string
  timeoutSeconds: number
}

export type CacheRestore = CacheResult & {
  hit: boolean
  /** The host build's .drv, evaluated here so the build does not evaluate it again. */
  drvPath?: string
  dir?: string
}

/** The report's part of a restore. */
export function cacheReport(restore: CacheRestore): CacheResult {
  const { hit, drvPath, dir, ...result } = restore
  void [hit, drvPath, dir]
  return result
}

function nixEnvOf(nix: Pick<NixInstallation, 'env'>, env: NodeJS.ProcessEnv) {
  return { ...stringEnv(env), ...nix.env }
}

/** A hash of the flake's lock file: the file for a local flake, `nix flake metadata` otherwise. */
export async function flakeLockHash(
  nix: NixInstallation,
  flake: string,
  env: Record<string, string>
): Promise<string> {
  const sha = (text: string): string => createHash('sha256').update(text).digest('hex')
  const local = /^(?:path:|git\+file:(?:\/\/)?)?(\.{1,2}|\.{0,2}\/[^?#]*)(?:[?#].*)?$/.exec(flake)
  if (local) {
    const lock = join(resolve(local[1]), 'flake.lock')
    return existsSync(lock) ? sha(readFileSync(lock, 'utf8')) : ''
  }
  const metadata = await run(nix.nixPath, ['flake', 'metadata', '--json', ...nixFlags, flake], {
    env
  })
  if (metadata.exitCode !== 0) return ''
  try {
    const locks = (JSON.parse(metadata.stdout) as { locks?: unknown }).locks
    return locks ? sha(JSON.stringify(locks)) : ''
  } catch {
    return ''
  }
}

/** Imports every path of the binary cache in dir into the store. */
async function importEntry(
  nixPath: string,
  dir: string,
  env: Record<string, string>
): Promise<{ paths: number; error?: string }> {
  const paths: string[] = []
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.narinfo')) continue
    const path = narinfoStorePath(readFileSync(join(dir, name), 'utf8'))
    if (path) paths.push(path)
  }
  if (!paths.length) return { paths: 0, error: 'the restored entry holds no store paths' }
  for (let i = 0; i < paths.length; i += 200) {
    const batch = paths.slice(i, i + 200)
    const args = ['copy', ...nixFlags, '--from', `file://${dir}`, '--no-check-sigs', ...batch]
    const copy = await run(nixPath, args, { env })
    if (copy.exitCode !== 0) {
      return { paths: 0, error: copy.startError ?? nixError(copy.stderr) ?? 'nix copy failed' }
    }
  }
  return { paths: paths.length }
}

/**
 * Before the build: evaluates the image's .drv (the host build reuses it), looks up the entry by
 * key and restore keys, and imports what it restored. Never fails the run.
 */
export async function restoreImageCache(
  nix: NixInstallation,
  request: CacheRestoreRequest,
  ctx: StageContext
): Promise<CacheRestore> {
  const started = Date.now()
  const unavailable = await cacheUnavailable(ctx.env)
  if (unavailable) return { status: 'disabled', hit: false, detail: unavailable }
  const env = nixEnvOf(nix, ctx.env)
  const evaluation = await evaluateDrvPath(
    nix,
    {
      flake: request.flake,
      image: request.image,
      context: 'host',
      env: request.keyEnv,
      dir: request.buildDir
    },
    ctx
  )
  if (!evaluation.drvPath) {
    return {
      status: 'error',
      hit: false,
      detail: 'the image did not evaluate, so it has no cache key (the build stage says why)'
    }
  }
  const drvPath = evaluation.drvPath
  const dir = resolve(process.cwd(), CACHE_PATH)
  const miss = (fields: Partial<CacheRestore> & Pick<CacheRestore, 'status' | 'detail'>) => ({
    hit: false,
    drvPath,
    dir,
    restoreMs: Date.now() - started,
    ...fields
  })
  try {
    const system = await run(
      nix.nixPath,
      ['eval', ...nixFlags, '--raw', '--impure', '--expr', 'builtins.currentSystem'],
      { env }
    )
    const { key, restoreKeys } = cacheKeys({
      system: system.exitCode === 0 ? system.stdout.trim() : 'unknown-system',
      drvPath,
      nixVersion: nix.version,
      flakeLockHash: await flakeLockHash(nix, request.flake, env)
    })
    await rm(dir, { recursive: true, force: true })
    const timeoutMs = request.timeoutSeconds * 1000
    // The lookup first, briefly: a service that is down or hangs costs LOOKUP_TIMEOUT_MS, not the
    // whole budget, and then the post step does not try again (it must end quickly).
    const lookupMs = Math.min(LOOKUP_TIMEOUT_MS, timeoutMs)
    const cache = await actionsCache()
    const { found, down } = await cacheLookup(
      () => cache.restoreCache([CACHE_PATH], key, restoreKeys, { lookupOnly: true }),
      lookupMs
    )
    if (down) {
      ctx.log.warning(`The image cache was not restored (building without it): ${down}`)
      return miss({ status: 'error', key, detail: down, serviceDown: true })
    }
    if (!found) {
      return miss({
        status: 'miss',
        key,
        detail: 'no entry for this image, its lock file or system'
      })
    }
    const remaining = Math.max(1000, timeoutMs - (Date.now() - started))
    const failures: string[] = []
    const download = quietly(
      () =>
        cache.restoreCache([CACHE_PATH], key, restoreKeys, {
          timeoutInMs: remaining,
          segmentTimeoutInMs: remaining
        }),
      failures
    )
    const matchedKey = await withDeadline(download, remaining)
    if (matchedKey === TIMED_OUT || !matchedKey) {
      const detail =
        matchedKey === TIMED_OUT
          ? `the download of ${found} took over ${request.timeoutSeconds} s`
          : `restore of ${found} failed: ${failures.join('; ') || 'no entry after all'}`
      ctx.log.warning(`The image cache was not restored (building without it): ${detail}`)
      return miss({ status: 'error', key, detail, serviceDown: matchedKey === TIMED_OUT })
    }
    const bytesRestored = await directoryBytes(dir)
    const imported = await importEntry(nix.nixPath, dir, env)
    await rm(dir, { recursive: true, force: true })
    if (imported.error) {
      ctx.log.warning(`The restored cache entry was not imported: ${imported.error}`)
      return miss({ status: 'error', key, matchedKey, bytesRestored, detail: imported.error })
    }
    const hit = matchedKey === key
    const restoreMs = Date.now() - started
    const detail =
      `${hit ? 'restored' : `restored the closest entry (${matchedKey})`}: ` +
      `${imported.paths} store paths, ${formatBytes(bytesRestored)} in ${(restoreMs / 1000).toFixed(1)} s`
    ctx.log.info(`Cache ${hit ? 'hit' : 'partial'}: ${detail}`)
    return {
      status: hit ? 'hit' : 'partial',
      hit,
      drvPath,
      dir,
      key,
      matchedKey,
      bytesRestored,
      restoreMs,
      detail
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
    ctx.log.warning(`The image cache was not restored: ${errorMessage(error)}`)
    return miss({ status: 'error', detail: errorMessage(error) })
  }
}

/**
 * The environment derivation `nix develop` builds for the devshell (its closure is everything
 * the shell puts on PATH), through a throw-away profile; undefined when it cannot be had.
 */
export async function devshellEnvPath(
  nix: NixInstallation,
  installable: string,
  env: Record<string, string>,
  tempDir: string
): Promise<string | undefined> {
  const profileDir = join(tempDir, 'devshell-profile')
  await mkdir(profileDir, { recursive: true })
  const profile = join(profileDir, 'env')
  try {
    const args = ['print-dev-env', ...nixFlags, '--impure', installable, '--profile', profile]
    const printed = await run(nix.nixPath, args, { env: { ...env, ...nix.env } })
    if (printed.exitCode !== 0) return undefined
    let target = profile
    for (let hop = 0; hop < 5 && !target.startsWith('/nix/store/'); hop++) {
      target = resolve(dirname(target), await readlink(target))
    }
    return target.startsWith('/nix/store/') ? target : undefined
  } catch {
    return undefined
  } finally {
    await rm(profileDir, { recursive: true, force: true }).catch(() => undefined)
  }
}

export function cacheSaveState(
  restore: CacheRestore,
  nix: NixInstallation,
  parts: {
    roots: string[]
    drvPaths: string[]
    maxSizeMiB: number
    timeoutSeconds: number
  }
): CacheSaveState | undefined {
  if (!restore.key || !restore.dir) return undefined
  return {
    key: restore.key,
    hit: restore.hit,
    skip: restore.serviceDown
      ? 'the cache service failed during the restore; not trying again'
      : undefined,
    dir: restore.dir,
    nixPath: nix.nixPath,
    nixEnv: nix.env,
    roots: [...new Set(parts.roots)],
    drvPaths: [...new Set(parts.drvPaths)],
    maxBytes: parts.maxSizeMiB * 1024 * 1024,
    timeoutSeconds: parts.timeoutSeconds
  }
}
