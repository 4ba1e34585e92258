// The post step's save of the image cache: plan what fits, write it as a binary cache directory
// with `nix copy --to`, upload it with @actions/cache. Bounded in time; never throws.
import { actionsCache, cacheKeyTaken, quietly } from '../toolkit.js'
import { TIMED_OUT, withDeadline } from '../deadline.js'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Log } from '../log.js'
import type { CacheSave } from '../model.js'
import { nixError } from '../nix/build.js'
import { errorMessage, run, signalChildren, stringEnv } from '../process.js'
import { CACHE_PATH, cacheUnavailable, directoryBytes, nixFlags } from './actions-cache.js'
import { formatBytes, parsePathInfo, planSave, type PathInfo } from './keys.js'

/** What main hands the post step (as JSON state) to save the entry. */
export interface CacheSaveState {
  key: string
  /** The exact key was restored: nothing to save. */
  hit: boolean
  /** Why post must not try (the service was down during the restore). */
  skip?: string
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
  const unavailable = state.skip ?? (await cacheUnavailable(process.env))
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
    const cache = await actionsCache()
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
    if (cacheKeyTaken(failures)) {
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
