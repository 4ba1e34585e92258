// The image cache: what a build produced that is worth keeping, as a Nix binary cache directory
// in @actions/cache. Restored and imported before the build, so an unchanged image is not rebuilt
// and a changed one builds only what changed; saved by the post step. For an image that bakes
// the run's key (its .drv changes with every key) the entry holds only the derivations that do
// not depend on the key, found by evaluating the image a second time with a throw-away key
// (reuse.ts). Never what a substituter serves (save.ts). Every failure is a warning, and the
// lookup, download and import share one time bound.
import { actionsCache, cacheLookup, quietly } from '../toolkit.js'
import { TIMED_OUT, withDeadline } from '../deadline.js'
import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { StageContext } from '../context.js'
import type { CacheResult, NixInstallation } from '../model.js'
import { evaluateDrvPath } from '../build/index.js'
import { errorMessage, run, stringEnv } from '../process.js'
import {
  CACHE_PATH,
  LOOKUP_TIMEOUT_MS,
  cacheUnavailable,
  directoryBytes,
  nixFlags
} from './actions-cache.js'
import { entryFileSizes, importEntry } from './entry.js'
import { cacheKeys } from './keys.js'
import { importedOutcome } from './import-outcome.js'
import { analyseReuse, evaluateWithOtherKey, type ReuseAnalysis } from './reuse.js'
import type { CacheSaveState } from './save.js'
import { substituterConfig, type SubstituterConfig } from './substituters.js'
import { flakeLockHash, storeTrust, UNTRUSTED_ADVICE } from './run-facts.js'
import { cacheRestoreNeeds, checkDisk } from '../disk.js'

export { importedOutcome } from './import-outcome.js'
export { saveImageCache, type CacheSaveState } from './save.js'
export { devshellEnvPath, flakeLockHash, storeTrust, UNTRUSTED_ADVICE } from './run-facts.js'

export interface CacheRestoreRequest {
  flake: string
  image: string
  /** The key variable, exactly as the host build gets it (the .drv depends on it). */
  keyEnv: Record<string, string>
  /** Report directory of the host build (eval.log goes there). */
  buildDir: string
  timeoutSeconds: number
}

/** How long after the library's own download bounds the restore stops waiting regardless. */
const DOWNLOAD_BACKSTOP_MS = 5_000

export type CacheRestore = CacheResult & {
  hit: boolean
  /** The host build's .drv, evaluated here so the build does not evaluate it again. */
  drvPath?: string
  dir?: string
  /** What the entry holds, and the image's .drv with the throw-away key. */
  reuse?: Pick<ReuseAnalysis, 'basis' | 'otherDrvPath'>
  substituters?: SubstituterConfig
  /** Why the post step must not save (the store would refuse the entry's paths). */
  refused?: string
}

/** The report's part of a restore. */
export function cacheReport(restore: CacheRestore): CacheResult {
  const { hit, drvPath, dir, reuse, substituters, refused, ...result } = restore
  void [hit, drvPath, dir, reuse, substituters, refused]
  return result
}

function nixEnvOf(nix: Pick<NixInstallation, 'env'>, env: NodeJS.ProcessEnv) {
  return { ...stringEnv(env), ...nix.env }
}

/** Both evaluations at once (one extra evaluation, beside the first: on 2 cores it mostly overlaps). */
async function evaluateBoth(
  nix: NixInstallation,
  request: CacheRestoreRequest,
  ctx: StageContext
): Promise<{ drvPath?: string; otherDrvPath?: string; error?: string; ms: EvalTimes }> {
  const started = Date.now()
  const keyVar = Object.keys(request.keyEnv)[0] ?? 'PRE_NIXOS_ROOT_KEY'
  const first = evaluateDrvPath(
    nix,
    {
      flake: request.flake,
      image: request.image,
      context: 'host',
      env: request.keyEnv,
      dir: request.buildDir
    },
    ctx
  ).then(result => ({ ...result, ms: Date.now() - started }))
  const second = evaluateWithOtherKey(nix, { ...request, keyVar }, ctx)
  const [a, b] = await Promise.all([first, second])
  const ms = { runKeyMs: a.ms, otherKeyMs: b.ms, bothMs: Date.now() - started }
  if (!a.drvPath) return { error: a.error, ms }
  if (!b.drvPath) {
    return { drvPath: a.drvPath, error: `with a second key, it did not evaluate: ${b.error}`, ms }
  }
  return { drvPath: a.drvPath, otherDrvPath: b.drvPath, ms }
}

type EvalTimes = NonNullable<CacheResult['evaluations']>

/** The image's reusable part and the keys for it (the system and the lock file are in the key). */
async function entryKeys(
  nix: NixInstallation,
  request: CacheRestoreRequest,
  drvs: { drvPath: string; otherDrvPath: string },
  env: Record<string, string>,
  deadline: number
): Promise<{ reuse: ReuseAnalysis; key: string; restoreKeys: string[] }> {
  const reuse = await analyseReuse(nix.nixPath, drvs.drvPath, drvs.otherDrvPath, env, deadline)
  const system = await run(
    nix.nixPath,
    ['eval', ...nixFlags, '--raw', '--impure', '--expr', 'builtins.currentSystem'],
    { env }
  )
  const keys = cacheKeys({
    system: system.exitCode === 0 ? system.stdout.trim() : 'unknown-system',
    installable: `${request.flake}#${request.image}`,
    basis: reuse.basis,
    nixVersion: nix.version,
    flakeLockHash: await flakeLockHash(nix, request.flake, env)
  })
  return { reuse, ...keys }
}

/**
 * Before the build: evaluates the image's .drv (the host build reuses it) and, with a throw-away
 * key, what of it does not depend on the run's key; looks up the entry by key and restore key, and
 * imports what the build uses of what it restored. Never fails the run.
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
  const evaluated = await evaluateBoth(nix, request, ctx)
  if (!evaluated.drvPath) {
    return {
      status: 'error',
      hit: false,
      detail: 'the image did not evaluate, so it has no cache key (the build stage says why)'
    }
  }
  const drvPath = evaluated.drvPath
  const dir = resolve(process.cwd(), CACHE_PATH)
  const miss = (fields: Partial<CacheRestore> & Pick<CacheRestore, 'status' | 'detail'>) => ({
    hit: false,
    drvPath,
    dir,
    restoreMs: Date.now() - started,
    evaluations: evaluated.ms,
    ...fields
  })
  if (!evaluated.otherDrvPath) {
    return miss({ status: 'error', detail: `not cached: ${evaluated.error}` })
  }
  const timeoutMs = request.timeoutSeconds * 1000
  const deadline = started + timeoutMs
  try {
    const { reuse, key, restoreKeys } = await entryKeys(
      nix,
      request,
      { drvPath, otherDrvPath: evaluated.otherDrvPath },
      env,
      deadline
    )
    const substituters = (await substituterConfig(
      nix.nixPath,
      nix.capabilities.configShow,
      env,
      10_000
    )) ?? { substituters: [], trustedKeys: [] }
    const kept = { key, reuse, substituters }
    const short = await checkDisk(cacheRestoreNeeds(dir, ctx.env), 'the image cache restore')
    if (short) ctx.log.warning(short, { title: 'Low disk space' })
    await rm(dir, { recursive: true, force: true })
    // The lookup first, briefly: a service that is down or hangs costs LOOKUP_TIMEOUT_MS, not the
    // whole budget, and then the post step does not try again (it must end quickly).
    const lookupMs = Math.min(LOOKUP_TIMEOUT_MS, Math.max(1000, deadline - Date.now()))
    const cache = await actionsCache()
    const { found, down } = await cacheLookup(
      () => cache.restoreCache([CACHE_PATH], key, restoreKeys, { lookupOnly: true }),
      lookupMs
    )
    if (down) {
      ctx.log.warning(`The image cache was not restored (building without it): ${down}`)
      return miss({ status: 'error', ...kept, detail: down, serviceDown: true })
    }
    if (!found) {
      return miss({
        status: 'miss',
        ...kept,
        detail:
          reuse.basis.kind === 'image'
            ? 'no entry for this image, its lock file or system'
            : `no entry for this image's ${reuse.basis.drvPaths.length} derivations that do not depend on the run's key`
      })
    }
    // A daemon that says it does not trust this user would refuse the import: no download.
    if ((await storeTrust(nix, env)) === 'untrusted') {
      ctx.log.warning(`The image cache was found (${found}) but not used: ${UNTRUSTED_ADVICE}`)
      const detail = UNTRUSTED_ADVICE
      return miss({ status: 'error', ...kept, matchedKey: found, detail, refused: detail })
    }
    const remaining = Math.max(1000, deadline - Date.now())
    const failures: string[] = []
    // The library's own bounds (per request, per segment) come first: they abort its requests, so
    // a stalled segment ends cleanly; the deadline, a little later, is the backstop.
    const download = quietly(
      () =>
        cache.restoreCache([CACHE_PATH], key, restoreKeys, {
          timeoutInMs: remaining,
          segmentTimeoutInMs: remaining
        }),
      failures
    )
    const matchedKey = await withDeadline(download, remaining + DOWNLOAD_BACKSTOP_MS)
    if (matchedKey === TIMED_OUT || !matchedKey) {
      const detail =
        matchedKey === TIMED_OUT
          ? `the download of ${found} took over ${request.timeoutSeconds} s`
          : `restore of ${found} failed: ${failures.join('; ') || 'no entry after all'}`
      ctx.log.warning(`The image cache was not restored (building without it): ${detail}`)
      return miss({ status: 'error', ...kept, detail, serviceDown: matchedKey === TIMED_OUT })
    }
    const bytesRestored = await directoryBytes(dir)
    const sizes = await entryFileSizes(dir)
    const imported = await importEntry(nix.nixPath, dir, new Set(reuse.wanted), env, deadline)
    await rm(dir, { recursive: true, force: true })
    const restored = { ...kept, matchedKey, bytesRestored }
    if (imported.error) {
      const detail = imported.untrusted ? UNTRUSTED_ADVICE : imported.error
      ctx.log.warning(`The restored cache entry was not imported: ${detail}`)
      return miss({
        status: 'error',
        ...restored,
        detail,
        refused: imported.untrusted ? detail : undefined
      })
    }
    const outcome = importedOutcome(imported, sizes, reuse, matchedKey === key, matchedKey)
    const restoreMs = Date.now() - started
    const detail = `${outcome.detail} (${(restoreMs / 1000).toFixed(1)} s)`
    ctx.log.info(`Cache ${outcome.status}: ${detail}`)
    if (outcome.status === 'miss') return miss({ status: 'miss', ...restored, detail })
    return {
      status: outcome.status,
      hit: matchedKey === key,
      drvPath,
      dir,
      ...restored,
      restoreMs,
      evaluations: evaluated.ms,
      detail
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
    ctx.log.warning(`The image cache was not restored: ${errorMessage(error)}`)
    return miss({ status: 'error', detail: errorMessage(error) })
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
  if (!restore.key || !restore.dir || !restore.reuse || !restore.drvPath) return undefined
  const basis = restore.reuse.basis
  return {
    key: restore.key,
    hit: restore.hit,
    skip: restore.serviceDown
      ? 'the cache service failed during the restore; not trying again'
      : restore.refused,
    dir: restore.dir,
    nixPath: nix.nixPath,
    nixEnv: nix.env,
    roots: [...new Set(parts.roots)],
    // The image evaluated with the run's key first: the deps split starts from it.
    drvPaths: [...new Set([restore.drvPath, ...parts.drvPaths])],
    kind: basis.kind,
    otherDrvPath: basis.kind === 'deps' ? restore.reuse.otherDrvPath : undefined,
    substituters: restore.substituters?.substituters ?? [],
    trustedKeys: restore.substituters?.trustedKeys ?? [],
    maxBytes: parts.maxSizeMiB * 1024 * 1024,
    timeoutSeconds: parts.timeoutSeconds
  }
}
