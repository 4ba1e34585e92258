// The image cache: the built image (and what built it) as a Nix binary cache directory in
// @actions/cache. Restored and imported with `nix copy --from` before the build, so an unchanged
// image is not rebuilt and a changed one builds only what changed; saved by the post step. Every
// failure is a warning, and both directions are bounded in time.
import * as cache from '@actions/cache'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readdir, readlink, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { StageContext } from '../context.js'
import type { Log } from '../log.js'
import type { CacheResult, CacheSave, NixInstallation } from '../model.js'
import { evaluateDrvPath, nixError } from '../nix/build.js'
import { errorMessage, run, signalChildren, stringEnv } from '../process.js'
import {
  cacheKeys,
  formatBytes,
  narinfoStorePath,
  parsePathInfo,
  planSave,
  type PathInfo
} from './keys.js'

/**
 * The entry's directory, relative to the workspace. @actions/cache's version hashes the path
 * strings it is given, and its tar names entries relative to GITHUB_WORKSPACE and extracts them
 * there: a relative path is the same string on every runner and every run (an absolute one under
 * RUNNER_TEMP or a per-run workspace is not), lands in the same place whatever the workspace's
 * depth, and is private to the job (a fixed /tmp path would be shared by concurrent jobs on one
 * machine). It exists only while an entry is imported (main) or written (post).
 */
export const CACHE_PATH = '.boot-image-vm-nix-cache'

export const DEFAULT_TIMEOUT_SECONDS = 120

/** What main hands the post step (as JSON state) to save the entry. */
export interface CacheSaveState {
  key: string
  /** The exact key was restored: nothing to save. */
  hit: boolean
  /** Absolute directory of CACHE_PATH. */
  dir: string
  nixPath: string
  nixEnv: Record<string, string>
  /** Closures to save, most valuable first: the images, then the devshell's environment. */
  roots: string[]
  /** Derivations whose built dependencies go in after the roots, while they fit. */
  drvPaths: string[]
  maxBytes: number
  timeoutSeconds: number
}

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

/** Why the Actions cache cannot be used here, or undefined when it can. */
export function cacheUnavailable(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.ACTIONS_RUNTIME_TOKEN || !cache.isFeatureAvailable()) {
    return 'the Actions cache service is not available here (no ACTIONS_RUNTIME_TOKEN / ACTIONS_RESULTS_URL)'
  }
  const workspace = resolve(env.GITHUB_WORKSPACE || process.cwd())
  if (workspace !== resolve(process.cwd())) {
    return `the working directory is not GITHUB_WORKSPACE (${workspace}), where @actions/cache puts entries`
  }
  return undefined
}

const nixFlags = ['--extra-experimental-features', 'nix-command']

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

async function directoryBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += await directoryBytes(path)
    else if (entry.isFile()) total += (await stat(path)).size
  }
  return total
}

/**
 * Runs a call into @actions/cache, turning the `::error::` annotations it emits for server errors
 * into warnings (a cache outage is never an error of this action) and collecting what failed: the
 * library swallows its failures and only logs them.
 */
async function quietly<T>(work: () => Promise<T>, failures: string[]): Promise<T> {
  const original = process.stdout.write
  const pattern =
    /^(?:::(?:error|warning|debug)::)?((?:Failed to (?:restore|save|reserve cache)|Cache reservation failed): .*)$/
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') {
      for (const line of chunk.split('\n')) {
        const match = pattern.exec(line.trim())
        if (match) failures.push(match[1].replace(/%0A/g, ' ').replace(/%25/g, '%'))
      }
      chunk = chunk.replace(/^::error::(Failed to (?:restore|save): )/gm, '::warning::$1')
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
  } as typeof process.stdout.write
  try {
    return await work()
  } finally {
    process.stdout.write = original
  }
}

const TIMED_OUT = Symbol('timed out')

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<typeof TIMED_OUT>(res => (timer = setTimeout(res, ms, TIMED_OUT)))
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
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
  const unavailable = cacheUnavailable(ctx.env)
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
    const failures: string[] = []
    const timeoutMs = request.timeoutSeconds * 1000
    const lookup = quietly(
      () =>
        cache.restoreCache([CACHE_PATH], key, restoreKeys, {
          timeoutInMs: timeoutMs,
          segmentTimeoutInMs: timeoutMs
        }),
      failures
    )
    const matchedKey = await withDeadline(lookup, timeoutMs)
    if (matchedKey === TIMED_OUT) {
      ctx.log.warning(
        `The cache restore took over ${request.timeoutSeconds} s; building without it.`
      )
      return miss({ status: 'error', key, detail: `timed out after ${request.timeoutSeconds} s` })
    }
    if (!matchedKey) {
      if (failures.length) {
        return miss({ status: 'error', key, detail: `restore failed: ${failures.join('; ')}` })
      }
      return miss({
        status: 'miss',
        key,
        detail: 'no entry for this image, its lock file or system'
      })
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
    dir: restore.dir,
    nixPath: nix.nixPath,
    nixEnv: nix.env,
    roots: [...new Set(parts.roots)],
    drvPaths: [...new Set(parts.drvPaths)],
    maxBytes: parts.maxSizeMiB * 1024 * 1024,
    timeoutSeconds: parts.timeoutSeconds
  }
}

/** Valid outputs of every derivation the image's .drv depends on (its build-time closure). */
async function buildClosure(state: CacheSaveState, env: Record<string, string>): Promise<string[]> {
  if (!state.drvPaths.length) return []
  const nixStore = join(dirname(state.nixPath), 'nix-store')
  const query = await run(nixStore, ['-qR', '--include-outputs', ...state.drvPaths], { env })
  if (query.exitCode !== 0) return []
  return query.stdout
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.startsWith('/') && !line.endsWith('.drv'))
}

async function pathInfos(
  nixPath: string,
  paths: string[],
  env: Record<string, string>
): Promise<PathInfo[]> {
  if (!paths.length) return []
  const info = await run(nixPath, ['path-info', ...nixFlags, '--json', '-r', ...paths], { env })
  if (info.exitCode !== 0) throw new Error(nixError(info.stderr) || 'nix path-info failed')
  return parsePathInfo(info.stdout)
}

async function writeEntry(
  state: CacheSaveState,
  paths: string[],
  env: Record<string, string>
): Promise<string> {
  for (const compression of ['zstd', 'xz']) {
    await rm(state.dir, { recursive: true, force: true })
    let failed: string | undefined
    for (let i = 0; i < paths.length && !failed; i += 200) {
      const to = `file://${state.dir}?compression=${compression}`
      const args = ['copy', ...nixFlags, '--to', to, ...paths.slice(i, i + 200)]
      const copy = await run(state.nixPath, args, { env })
      if (copy.exitCode !== 0) failed = copy.startError ?? (nixError(copy.stderr) || 'failed')
    }
    if (!failed) return compression
    // An older Nix without zstd says so; any other failure would fail with xz too.
    if (!/compression|zstd/i.test(failed)) throw new Error(`nix copy --to: ${failed}`)
  }
  throw new Error('nix copy --to failed with zstd and with xz compression')
}

/** The post step's save. Bounded by state.timeoutSeconds; every failure is returned, never thrown. */
export async function saveImageCache(state: CacheSaveState, log: Log): Promise<CacheSave> {
  const started = Date.now()
  const base = { key: state.key, leftOut: [] }
  if (state.hit) {
    return { ...base, status: 'skipped', detail: 'exact hit: the entry exists already' }
  }
  const unavailable = cacheUnavailable(process.env)
  if (unavailable) return { ...base, status: 'skipped', detail: unavailable }
  const env = { ...stringEnv(process.env), ...state.nixEnv }
  const failures: string[] = []
  const work = async (): Promise<CacheSave> => {
    const roots = await pathInfos(state.nixPath, state.roots, env)
    const extra = await buildClosure(state, env)
      .then(paths => pathInfos(state.nixPath, paths, env).then(infos => ({ paths, infos })))
      .catch(() => ({ paths: [] as string[], infos: [] as PathInfo[] }))
    const plan = planSave(
      [...state.roots, ...extra.paths],
      [...roots, ...extra.infos],
      state.maxBytes
    )
    // Build-time paths that did not fit are many and expected; name only the roots left out.
    const leftOut = plan.leftOut.filter(item => state.roots.includes(item.root))
    const skippedExtra = plan.leftOut.length - leftOut.length
    if (!plan.paths.length) {
      return { ...base, leftOut, status: 'skipped', detail: 'nothing fits under cache-max-size' }
    }
    const compression = await writeEntry(state, plan.paths, env)
    const bytes = await directoryBytes(state.dir)
    const id = await quietly(() => cache.saveCache([CACHE_PATH], state.key), failures)
    const saveMs = Date.now() - started
    const notes = [
      `${plan.paths.length} store paths, ${formatBytes(bytes)} (${compression}; ${formatBytes(plan.bytes)} uncompressed)`,
      ...(leftOut.length
        ? [
            `left out to stay under cache-max-size: ${leftOut.map(l => `${l.root} (${formatBytes(l.bytes)})`).join(', ')}`
          ]
        : []),
      ...(skippedExtra ? [`${skippedExtra} build-time paths did not fit`] : [])
    ]
    const fields = { ...base, leftOut, bytes, paths: plan.paths.length, saveMs }
    if (id > 0)
      return {
        ...fields,
        status: 'saved',
        detail: `saved in ${(saveMs / 1000).toFixed(1)} s: ${notes.join('; ')}`
      }
    // Any failure to create the entry is "Unable to reserve cache"; only a refusal (ok: false)
    // means the key exists, and the library says which only in a debug line.
    const refused = failures.find(f => f.startsWith('Failed to reserve cache:'))
    if (refused && /Response was not ok|already exists/i.test(refused)) {
      return { ...fields, status: 'skipped', detail: 'another job saved this key first' }
    }
    return {
      ...fields,
      status: 'error',
      detail: `save failed: ${failures.join('; ') || 'the cache service refused it'}`
    }
  }
  let save: CacheSave
  try {
    const outcome = await withDeadline(work(), state.timeoutSeconds * 1000)
    if (outcome === TIMED_OUT) signalChildren('SIGTERM')
    save =
      outcome === TIMED_OUT
        ? { ...base, status: 'error', detail: `timed out after ${state.timeoutSeconds} s` }
        : outcome
  } catch (error) {
    save = { ...base, status: 'error', detail: errorMessage(error) }
  }
  await rm(state.dir, { recursive: true, force: true }).catch(() => undefined)
  if (save.status === 'error') log.warning(`The image cache was not saved: ${save.detail}`)
  else log.info(`Image cache ${save.status} (${state.key}): ${save.detail}`)
  return save
}
