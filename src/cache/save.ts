// The post step's save of the image cache: choose what is worth storing (built here, served by no
// substituter, and, for an image that bakes the run's key, independent of that key: save-select.ts),
// write it as a binary cache directory with `nix copy --to`, upload it with @actions/cache. Bounded
// in time; never throws.
import { actionsCache, cacheKeyTaken, quietly } from '../shared/toolkit.js'
import { TIMED_OUT, withDeadline } from '../shared/deadline.js'
import { rm } from 'node:fs/promises'
import type { Log } from '../shared/log.js'
import type { CacheSave } from '../model/index.js'
import { errorMessage, signalChildren } from '../shared/process.js'
import { cacheSaveNeeds, checkDisk } from '../shared/disk.js'
import { CACHE_PATH, cacheUnavailable, directoryBytes } from './actions-cache.js'
import { writeEntry } from './entry.js'
import { formatBytes } from '../shared/bounds.js'
import { chooseEntry, entryManifest, type EntryChoice } from './save-select.js'
import type { CacheSaveState } from './save-state.js'
import { allowedEnv } from '../shared/child-env.js'

export type { CacheSaveState } from './save-state.js'

/**
 * Where a run whose build failed saves what it built: a key of its own beside the exact one. Under
 * the exact key it would be found exactly by every later run with these derivations, which then
 * never save (an exact hit), and the failed build's missing paths would be built every time;
 * here the restore keys still bring it, and the first run whose build passes saves the whole.
 */
export const incompleteKey = (key: string): string => `${key}-incomplete`

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
  let save: CacheSave
  try {
    const outcome = await withDeadline(saveEntry(state, key, started), state.timeoutSeconds * 1000)
    // Our nix calls end at the deadline by themselves; the toolkit's tar has no owner here.
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

/** Chooses the entry, writes it and uploads it under key: the work saveImageCache bounds. */
async function saveEntry(state: CacheSaveState, key: string, started: number): Promise<CacheSave> {
  const base = { key, leftOut: [] }
  // Post has no inputs: the allow-list alone (these nix calls evaluate nothing).
  const env = allowedEnv({ env: process.env }, state.nixEnv)
  const deadline = started + state.timeoutSeconds * 1000
  const choice = await chooseEntry(state, env, deadline)
  if ('skip' in choice) {
    return { ...base, leftOut: choice.leftOut, status: 'skipped', detail: choice.skip }
  }
  const { plan, leftOut } = choice
  // The entry and its archive each take up to the plan's size: not started when they cannot fit.
  const short = await checkDisk(
    cacheSaveNeeds(state.dir, plan.bytes, process.env),
    'saving the image cache'
  )
  if (short) return { ...base, leftOut, status: 'error', detail: short }
  const { manifest, external } = entryManifest(choice)
  const compression = await writeEntry(state.nixPath, state.dir, manifest, external, env, deadline)
  const bytes = await directoryBytes(state.dir)
  const failures: string[] = []
  const cache = await actionsCache()
  const id = await quietly(() => cache.saveCache([CACHE_PATH], key), failures)
  const saveMs = Date.now() - started
  const fields = { ...base, leftOut, bytes, paths: plan.paths.length, saveMs }
  if (id > 0) {
    const facts = savedFacts(state, choice, bytes, compression)
    return {
      ...fields,
      status: 'saved',
      detail: `saved in ${(saveMs / 1000).toFixed(1)} s: ${facts.join('; ')}`
    }
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

/** What a saved entry holds and what it left out, in words, for the save's detail. */
function savedFacts(
  state: CacheSaveState,
  choice: EntryChoice,
  bytes: number,
  compression: string
): string[] {
  const { plan, served, leftOut, skippedExtra } = choice
  const servedBytes = served.reduce((sum, info) => sum + info.narSize, 0)
  return [
    `${plan.paths.length} store paths, ${formatBytes(bytes)} (${compression}; ${formatBytes(plan.bytes)} uncompressed)`,
    state.kind === 'deps'
      ? "only what does not depend on the run's key (the image bakes it)"
      : 'the image and what built it',
    ...(served.length
      ? [`left out ${served.length} paths the substituters serve (${formatBytes(servedBytes)})`]
      : []),
    ...choice.notes,
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
}
