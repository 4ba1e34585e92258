// The image cache: what a build produced that is worth keeping, as a Nix binary cache directory
// in @actions/cache. Restored and imported before the build, so an unchanged image is not rebuilt
// and a changed one builds only what changed; saved by the post step. For an image that bakes
// the run's key (its .drv changes with every key) the entry holds only the derivations that do
// not depend on the key, found by evaluating the image a second time with a throw-away key
// (reuse.ts). Never what a substituter serves (save.ts). Every failure is a warning, and the
// lookup, download and import share one time bound.
import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type { CacheResult, NixInstallation } from '../model/index.js'
import { evaluateDrvPath } from '../build/index.js'
import { errorMessage, run } from '../shared/process.js'
import { CACHE_PATH, cacheUnavailable, nixFlags } from './actions-cache.js'
import { cacheKeys } from './keys.js'
import { downloadAndImport, lookUp } from './restore-entry.js'
import type { CacheRestore, CacheRestoreRequest } from './restore-types.js'
import { analyseReuse, evaluateWithOtherKey, type ReuseAnalysis } from './reuse.js'
import type { CacheSaveState } from './save.js'
import { substituterConfig } from './substituters.js'
import { flakeLockHash } from './run-facts.js'
import { cacheRestoreNeeds, checkDisk } from '../shared/disk.js'
import { allowedEnv } from '../shared/child-env.js'

export { importedOutcome } from './import-outcome.js'
export type { CacheRestore, CacheRestoreRequest } from './restore-types.js'
export { saveImageCache, type CacheSaveState } from './save.js'
export { devshellEnvPath, flakeLockHash, storeTrust, UNTRUSTED_ADVICE } from './run-facts.js'

/** The report's part of a restore. */
export function cacheReport(restore: CacheRestore): CacheResult {
  const { hit, drvPath, dir, reuse, substituters, refused, ...result } = restore
  void [hit, drvPath, dir, reuse, substituters, refused]
  return result
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
  deadline: number,
  signal: AbortSignal
): Promise<{ reuse: ReuseAnalysis; key: string; restoreKeys: string[] }> {
  const reuse = await analyseReuse(nix.nixPath, drvs.drvPath, drvs.otherDrvPath, env, deadline)
  const system = await run(
    nix.nixPath,
    ['eval', ...nixFlags, '--raw', '--impure', '--expr', 'builtins.currentSystem'],
    { env, signal }
  )
  const keys = cacheKeys({
    system: system.exitCode === 0 ? system.stdout.trim() : 'unknown-system',
    installable: `${request.flake}#${request.image}`,
    basis: reuse.basis,
    nixVersion: nix.version,
    flakeLockHash: await flakeLockHash(nix, request.flake, env, signal)
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
  const env = allowedEnv(ctx, nix.env)
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
      deadline,
      ctx.signal
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
    const lookedUp = await lookUp(nix, env, { key, restoreKeys, reuse }, deadline, ctx)
    if ('miss' in lookedUp) {
      const { status, ...rest } = lookedUp.miss
      return miss({ status, ...kept, ...rest })
    }
    const entry = { ...kept, restoreKeys, found: lookedUp.found, cache: lookedUp.cache }
    const run = { started, deadline, drvPath, dir, evaluations: evaluated.ms }
    return await downloadAndImport(nix, env, request, entry, run, miss, ctx)
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
    /** A build failed: what was built is kept, under a key of its own (see save.ts). */
    incomplete?: boolean
    maxSizeMiB: number
    timeoutSeconds: number
    /** Why this run's event or input cache-save forbids the save (save-policy.ts). */
    refusal?: string
  }
): CacheSaveState | undefined {
  if (!restore.key || !restore.dir || !restore.reuse || !restore.drvPath) return undefined
  const basis = restore.reuse.basis
  return {
    key: restore.key,
    hit: restore.hit,
    skip: restore.serviceDown
      ? 'the cache service failed during the restore; not trying again'
      : (restore.refused ?? parts.refusal),
    dir: restore.dir,
    nixPath: nix.nixPath,
    nixEnv: nix.env,
    roots: [...new Set(parts.roots)],
    // The image evaluated with the run's key first: the deps split starts from it.
    drvPaths: [...new Set([restore.drvPath, ...parts.drvPaths])],
    kind: basis.kind,
    ...(parts.incomplete ? { incomplete: true } : {}),
    otherDrvPath: basis.kind === 'deps' ? restore.reuse.otherDrvPath : undefined,
    substituters: restore.substituters?.substituters ?? [],
    trustedKeys: restore.substituters?.trustedKeys ?? [],
    maxBytes: parts.maxSizeMiB * 1024 * 1024,
    timeoutSeconds: parts.timeoutSeconds
  }
}
