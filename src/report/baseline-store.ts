// Where baselines live between runs: @actions/cache, one immutable entry per passing run, under a
// key per repository, branch (the base branch for pull requests), image, system and firmware,
// restored by prefix to get the newest (which carries the window of recent runs); a version 1
// entry (no firmware in its key) is restored when there is no version 2 one yet. Never fails a run: unavailable is said quietly, errors are warnings,
// and every call is bounded in time.
import { actionsCache, cacheKeyTaken, cacheLookup, quietly } from '../shared/toolkit.js'
import { TIMED_OUT, withDeadline } from '../shared/deadline.js'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Log } from '../shared/log.js'
import { errorMessage } from '../shared/process.js'
import { BASELINE_SCHEMA_VERSION, parseBaseline, type Baseline } from './baseline.js'

/**
 * The file as the cache stores it: relative to the workspace, so that the cache version (a hash of
 * the path strings) is the same on every runner. It exists only while a restore or save runs.
 */
export const CACHE_PATH = '.boot-image-vm-baseline/baseline.json'
// A baseline is a few KiB: a healthy service restores it in well under a second.
export const RESTORE_TIMEOUT_MS = 20_000
export const SAVE_TIMEOUT_MS = 120_000

export interface BaselineScope {
  repository: string
  /** The branch whose baselines this run compares with (the base branch for a pull request). */
  branch: string
  /** False for pull requests: they compare with their base branch and never replace its baseline. */
  saves: boolean
  flake: string
  image: string
  system: string
  /** The firmware input (bios, uefi): boots under each are judged apart. */
  firmware: string
  /** The guest's architecture when not x86_64 (an aarch64 image's boots are judged apart). */
  guest?: string
  runId: string
  runAttempt: string
}

/** The scope from the runner's variables; a string saying why not when they do not name one. */
export function baselineScope(
  env: NodeJS.ProcessEnv,
  image: { flake: string; image: string; firmware?: string; guest?: string }
): BaselineScope | string {
  const repository = env.GITHUB_REPOSITORY
  const pullRequest = (env.GITHUB_EVENT_NAME ?? '').startsWith('pull_request')
  const branch = pullRequest
    ? env.GITHUB_BASE_REF
    : env.GITHUB_REF_NAME || env.GITHUB_REF?.replace(/^refs\/(heads|tags)\//, '')
  if (!repository || !branch) {
    return pullRequest
      ? 'GITHUB_REPOSITORY or GITHUB_BASE_REF is not set'
      : 'GITHUB_REPOSITORY or GITHUB_REF_NAME is not set'
  }
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch as string] ?? process.arch
  return {
    repository,
    branch,
    saves: !pullRequest,
    flake: image.flake,
    image: image.image,
    firmware: image.firmware ?? 'bios',
    ...(image.guest && image.guest !== 'x86_64' ? { guest: image.guest } : {}),
    system: `${arch}-${process.platform}`,
    runId: env.GITHUB_RUN_ID || String(Date.now()),
    runAttempt: env.GITHUB_RUN_ATTEMPT || '1'
  }
}

/**
 * Every baseline of this scope's image starts with this (each part URI-encoded, '/' between).
 * Version 1 keys had no firmware part.
 */
export function baselineKeyPrefix(scope: BaselineScope, version = BASELINE_SCHEMA_VERSION): string {
  const flake = createHash('sha256').update(scope.flake).digest('hex').slice(0, 8)
  return [
    `boot-image-vm-baseline-v${version}`,
    scope.repository,
    scope.branch,
    `${scope.image}@${flake}`,
    scope.system,
    ...(version >= 2 ? [scope.firmware] : []),
    // An x86_64 guest's keys stay as they were before guests of other architectures were booted.
    ...(scope.guest ? [`guest-${scope.guest}`] : [])
  ]
    .map(part => encodeURIComponent(part))
    .join('/')
    .concat('/')
}

/** This run's key: the prefix plus the run id and attempt (cache keys are immutable). */
export function baselineKey(scope: BaselineScope): string {
  return `${baselineKeyPrefix(scope)}${scope.runId}-${scope.runAttempt}`
}

export interface RestoredBaseline {
  status: 'restored' | 'none' | 'unavailable' | 'error'
  baseline?: Baseline
  /** The key of the entry restored. */
  key?: string
  detail: string
  /** The service failed or did not answer: the post step does not try it again. */
  serviceDown?: boolean
}

/** The newest baseline of the scope's image, if the cache service is there and has one. */
export async function restoreBaseline(
  scope: BaselineScope,
  log: Log,
  timeoutMs = RESTORE_TIMEOUT_MS
): Promise<RestoredBaseline> {
  const cache = await actionsCache()
  if (!cache.isFeatureAvailable()) {
    return { status: 'unavailable', detail: 'the cache service is not available to this job' }
  }
  const prefix = baselineKeyPrefix(scope)
  rmSync(dirname(CACHE_PATH), { recursive: true, force: true })
  try {
    const { found: key, down } = await cacheLookup(
      () =>
        cache.restoreCache([CACHE_PATH], baselineKey(scope), [prefix, baselineKeyPrefix(scope, 1)]),
      timeoutMs
    )
    if (down) {
      log.warning(`The baseline was not restored: ${down}`)
      return { status: 'error', detail: `not restored: ${down}`, serviceDown: true }
    }
    if (!key) return { status: 'none', detail: `no baseline under ${prefix}` }
    let baseline: Baseline
    try {
      baseline = parseBaseline(readFileSync(CACHE_PATH, 'utf8'))
    } catch (error) {
      log.warning(`The baseline ${key} is unusable: ${errorMessage(error)}`)
      return { status: 'error', key, detail: `the baseline is unusable: ${errorMessage(error)}` }
    }
    return { status: 'restored', baseline, key, detail: `restored ${key}` }
  } catch (error) {
    log.warning(`The baseline was not restored: ${errorMessage(error)}`)
    return { status: 'error', detail: `not restored: ${errorMessage(error)}` }
  } finally {
    rmSync(dirname(CACHE_PATH), { recursive: true, force: true })
  }
}

/** Saves a baseline.json under key. Returns what happened in one line; errors are warnings. */
export async function saveBaseline(
  file: string,
  key: string,
  log: Log,
  timeoutMs = SAVE_TIMEOUT_MS
): Promise<string> {
  const cache = await actionsCache()
  if (!cache.isFeatureAvailable()) return 'not saved: the cache service is not available'
  const failures: string[] = []
  try {
    mkdirSync(dirname(CACHE_PATH), { recursive: true })
    writeFileSync(CACHE_PATH, readFileSync(file))
    const id = await withDeadline(
      quietly(() => cache.saveCache([CACHE_PATH], key), failures),
      timeoutMs
    )
    if (id === TIMED_OUT) throw new Error(`saving took longer than ${timeoutMs / 1000} s`)
    // saveCache returns -1 when it could not save, and says why only in its log.
    if (id === -1 && cacheKeyTaken(failures)) return `not saved: ${key} exists already`
    if (id === -1) throw new Error(failures.join('; ') || `nothing saved under ${key}`)
    return `saved as ${key}`
  } catch (error) {
    log.warning(`The baseline was not saved: ${errorMessage(error)}`)
    return `not saved: ${errorMessage(error)}`
  } finally {
    rmSync(dirname(CACHE_PATH), { recursive: true, force: true })
  }
}
