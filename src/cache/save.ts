// The post step's save of the image cache: choose what is worth storing (built here, served by no
// substituter, and, for an image that bakes the run's key, independent of that key), write it as a
// binary cache directory with `nix copy --to`, upload it with @actions/cache. Bounded in time;
// never throws.
import { actionsCache, cacheKeyTaken, quietly } from '../toolkit.js'
import { TIMED_OUT, withDeadline } from '../deadline.js'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Log } from '../log.js'
import type { CacheSave } from '../model.js'
import { nixError } from '../build/index.js'
import { errorMessage, signalChildren, stringEnv } from '../process.js'
import { cacheSaveNeeds, checkDisk } from '../disk.js'
import { CACHE_PATH, cacheUnavailable, directoryBytes, nixFlags } from './actions-cache.js'
import { runBounded } from './bounded-run.js'
import { writeEntry } from './entry.js'
import {
  dependenciesFirst,
  formatBytes,
  parsePathInfo,
  planSave,
  splitByKey,
  type PathInfo
} from './keys.js'
import { drvClosure, drvOutputs } from './reuse.js'
import { servedPaths, signedByTrustedKey } from './substituters.js'

/** What main hands the post step (as JSON state) to save the entry. */
export interface CacheSaveState {
  key: string
  /** The exact key was restored: nothing to save. */
  hit: boolean
  /** Why post must not try (the service was down during the restore, the store refuses imports). */
  skip?: string
  /** Absolute directory of CACHE_PATH. */
  dir: string
  nixPath: string
  nixEnv: Record<string, string>
  /** Closures to save, most valuable first: the images, then the devshell's environment. */
  roots: string[]
  /** The builds' derivations (the first is the image evaluated with the run's key). */
  drvPaths: string[]
  /** A build failed: the entry lacks what it did not build (see incompleteKey). */
  incomplete?: boolean
  /** 'deps': the image bakes the run's key; only derivations independent of it are saved. */
  kind: 'image' | 'deps'
  /** The image's .drv evaluated with a throw-away key (kind 'deps'). */
  otherDrvPath?: string
  /** The configured substituters and trusted keys, as main's nix saw them. */
  substituters: string[]
  trustedKeys: string[]
  maxBytes: number
  timeoutSeconds: number
}

/** The one line a run that bakes its key and uses nothing built locally gets. */
export const NOTHING_REUSABLE = "nothing to cache: every built path depends on the run's key"

/**
 * Where a run whose build failed saves what it built: a key of its own beside the exact one. Under
 * the exact key it would be found exactly by every later run with these derivations, which then
 * never save (an exact hit), and the failed build's missing paths would be built every time;
 * here the restore keys still bring it, and the first run whose build passes saves the whole.
 */
export const incompleteKey = (key: string): string => `${key}-incomplete`

/** Valid outputs of every derivation the image's .drv depends on (its build-time closure). */
async function buildClosure(
  state: CacheSaveState,
  env: Record<string, string>,
  deadline: number
): Promise<string[]> {
  if (!state.drvPaths.length) return []
  const nixStore = join(dirname(state.nixPath), 'nix-store')
  const query = await runBounded(nixStore, ['-qR', '--include-outputs', ...state.drvPaths], {
    env,
    timeoutMs: deadline - Date.now()
  })
  if (query.exitCode !== 0) return []
  return query.stdout
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.startsWith('/') && !line.endsWith('.drv'))
}

/** `nix path-info --json` of the valid ones among paths (with -r: and of their closures). */
async function pathInfos(
  nixPath: string,
  paths: string[],
  env: Record<string, string>,
  deadline: number,
  recursive = false
): Promise<PathInfo[]> {
  const infos: PathInfo[] = []
  for (let i = 0; i < paths.length; i += 500) {
    const args = ['path-info', ...nixFlags, '--json', ...(recursive ? ['-r'] : [])]
    const info = await runBounded(nixPath, [...args, ...paths.slice(i, i + 500)], {
      env,
      timeoutMs: deadline - Date.now()
    })
    if (info.exitCode !== 0) {
      throw new Error(info.timedOut ? 'nix path-info took too long' : nixError(info.stderr))
    }
    infos.push(...parsePathInfo(info.stdout))
  }
  return [...new Map(infos.map(info => [info.path, info])).values()]
}

interface Candidates {
  /** Roots to save, most valuable first. */
  roots: string[]
  /** The roots that are not the builds' outputs nor in their closure: the devshell's environment. */
  extra: string[]
  /** Why there are none, when there are none. */
  none?: string
}

/** The paths worth saving before the substituters are asked: see the file's comment. */
async function candidates(
  state: CacheSaveState,
  env: Record<string, string>,
  deadline: number
): Promise<Candidates> {
  const builds = new Set(await drvOutputs(state.nixPath, state.drvPaths, env, deadline))
  const extra = state.roots.filter(root => !builds.has(root))
  if (state.kind === 'image') {
    return { roots: [...state.roots, ...(await buildClosure(state, env, deadline))], extra }
  }
  const [image, other] = [state.drvPaths[0], state.otherDrvPath]
  if (!image || !other) return { roots: [], extra, none: 'the second evaluation is missing' }
  const { reusable } = splitByKey(
    await drvClosure(state.nixPath, image, env, deadline),
    await drvClosure(state.nixPath, other, env, deadline)
  )
  // The builds' outputs bake the key: only the reusable derivations' outputs, and the extra roots.
  const outputs = await drvOutputs(state.nixPath, reusable, env, deadline)
  return {
    roots: [...outputs, ...extra],
    extra,
    none: outputs.length ? undefined : NOTHING_REUSABLE
  }
}

interface Selection {
  /** Closure infos of the paths that may be stored (no substituter serves them). */
  local: PathInfo[]
  served: PathInfo[]
  notes: string[]
}

/** Splits the candidates' closures into what a substituter serves and what only this store has. */
async function selectLocal(
  state: CacheSaveState,
  roots: string[],
  env: Record<string, string>,
  deadline: number
): Promise<Selection> {
  const valid = (await pathInfos(state.nixPath, roots, env, deadline)).map(info => info.path)
  const closure = await pathInfos(state.nixPath, valid, env, deadline, true)
  const paths = closure.map(info => info.path)
  // A third of what is left: the write and the upload need the rest.
  const budget = Math.max(1000, (deadline - Date.now()) / 3)
  const asked = Date.now()
  const answer = await servedPaths(state.nixPath, state.substituters, paths, env, budget)
  const notes: string[] = []
  if (state.substituters.length) {
    notes.push(
      `asked ${state.substituters.length} substituter(s) about ${paths.length} paths in ` +
        `${((Date.now() - asked) / 1000).toFixed(1)} s`
    )
  }
  if (answer.unanswered.length) {
    notes.push(
      `no answer from ${answer.unanswered.join(', ')}: paths signed by a trusted key counted as served`
    )
  }
  // A served path the entry refers to is described by a stub .narinfo, which needs its hash.
  const isServed = (info: PathInfo): boolean =>
    Boolean(info.narHash) &&
    (answer.served.has(info.path) ||
      (answer.unanswered.length > 0 && signedByTrustedKey(info, state.trustedKeys)))
  return {
    local: closure.filter(info => !isServed(info)),
    served: closure.filter(isServed),
    notes
  }
}

/** The post step's save. Bounded by state.timeoutSeconds; every failure is returned, never thrown. */
export async function saveImageCache(state: CacheSaveState, log: Log): Promise<CacheSave> {
  const started = Date.now()
  const key = state.incomplete ? incompleteKey(state.key) : state.key
  const base = { key, leftOut: [] }
  if (state.hit) {
    return { ...base, status: 'skipped', detail: 'exact hit: the entry exists already' }
  }
  const unavailable = state.skip ?? (await cacheUnavailable(process.env))
  if (unavailable) return { ...base, status: 'skipped', detail: unavailable }
  const env = { ...stringEnv(process.env), ...state.nixEnv }
  const failures: string[] = []
  const deadline = started + state.timeoutSeconds * 1000
  const work = async (): Promise<CacheSave> => {
    const found = await candidates(state, env, deadline)
    if (found.none) return { ...base, status: 'skipped', detail: found.none }
    const { local, served, notes } = await selectLocal(state, found.roots, env, deadline)
    const localPaths = new Set(local.map(info => info.path))
    const roots = found.roots.filter(root => localPaths.has(root))
    if (!roots.length) {
      const detail =
        state.kind === 'deps'
          ? `${NOTHING_REUSABLE} (the substituters serve the ${served.length} paths that do not)`
          : 'nothing to cache: the substituters serve every path of the image'
      return { ...base, status: 'skipped', detail }
    }
    const plan = planSave(roots, local, state.maxBytes)
    // Build-time paths that did not fit are many and expected; name only the roots left out.
    const named = state.kind === 'deps' ? roots : state.roots
    const leftOut = plan.leftOut.filter(item => named.includes(item.root))
    const skippedExtra = plan.leftOut.length - leftOut.length
    if (!plan.paths.length) {
      return { ...base, leftOut, status: 'skipped', detail: 'nothing fits under cache-max-size' }
    }
    // The entry and its archive each take up to the plan's size: not started when they cannot fit.
    const short = await checkDisk(
      cacheSaveNeeds(state.dir, plan.bytes, process.env),
      'saving the image cache'
    )
    if (short) return { ...base, leftOut, status: 'error', detail: short }
    const stored = new Set(plan.paths)
    const externalPaths = new Set(
      local
        .filter(info => stored.has(info.path))
        .flatMap(info => info.references)
        .filter(ref => !stored.has(ref))
    )
    const external = served.filter(info => externalPaths.has(info.path))
    // The devshell's environment is not in the image's closure: the import must know to keep it.
    const keep = planSave(found.extra, [...local, ...served], Number.MAX_SAFE_INTEGER).paths
    const manifest = {
      version: 1 as const,
      stored: dependenciesFirst(plan.paths, local),
      external: external.map(info => info.path),
      keep: keep.filter(path => stored.has(path) || externalPaths.has(path))
    }
    const compression = await writeEntry(
      state.nixPath,
      state.dir,
      manifest,
      external,
      env,
      deadline
    )
    const bytes = await directoryBytes(state.dir)
    const cache = await actionsCache()
    const id = await quietly(() => cache.saveCache([CACHE_PATH], key), failures)
    const saveMs = Date.now() - started
    const servedBytes = served.reduce((sum, info) => sum + info.narSize, 0)
    const facts = [
      `${plan.paths.length} store paths, ${formatBytes(bytes)} (${compression}; ${formatBytes(plan.bytes)} uncompressed)`,
      state.kind === 'deps'
        ? "only what does not depend on the run's key (the image bakes it)"
        : 'the image and what built it',
      ...(served.length
        ? [`left out ${served.length} paths the substituters serve (${formatBytes(servedBytes)})`]
        : []),
      ...notes,
      ...(leftOut.length
        ? [
            `left out to stay under cache-max-size: ${leftOut.map(l => `${l.root} (${formatBytes(l.bytes)})`).join(', ')}`
          ]
        : []),
      ...(skippedExtra ? [`${skippedExtra} build-time paths did not fit`] : []),
      ...(state.incomplete
        ? ['the build failed: saved apart from the exact key, which a passing build will take']
        : [])
    ]
    const fields = { ...base, leftOut, bytes, paths: plan.paths.length, saveMs }
    if (id > 0)
      return {
        ...fields,
        status: 'saved',
        detail: `saved in ${(saveMs / 1000).toFixed(1)} s: ${facts.join('; ')}`
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
  else log.info(`Image cache ${save.status} (${key}): ${save.detail}`)
  return save
}
