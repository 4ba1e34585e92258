// The image cache entry's part of a restore: the lookup (brief: a service that is down costs
// seconds, not the budget), the download within the budget, the import of what the build uses.
import { rm } from 'node:fs/promises'
import type { StageContext } from '../shared/context.js'
import { TIMED_OUT, withDeadline } from '../shared/deadline.js'
import type { CacheResult, NixInstallation } from '../model/index.js'
import { actionsCache, cacheLookup, quietly } from '../shared/toolkit.js'
import { CACHE_PATH, LOOKUP_TIMEOUT_MS, directoryBytes } from './actions-cache.js'
import { devshellWanted } from './devshell-wanted.js'
import { entryFileSizes, importEntry } from './entry.js'
import { importedOutcome } from './import-outcome.js'
import type { CacheRestore, CacheRestoreRequest } from './restore-types.js'
import type { ReuseAnalysis } from './reuse.js'
import { storeTrust, UNTRUSTED_ADVICE } from './run-facts.js'

/** How long after the library's own download bounds the restore stops waiting regardless. */
const DOWNLOAD_BACKSTOP_MS = 5_000

type EvalTimes = NonNullable<CacheResult['evaluations']>

export type Miss = (
  fields: Partial<CacheRestore> & Pick<CacheRestore, 'status' | 'detail'>
) => CacheRestore
type ActionsCache = Awaited<ReturnType<typeof actionsCache>>
type MissFields = Partial<CacheRestore> & Pick<CacheRestore, 'status' | 'detail'>

/**
 * The lookup first, briefly: a service that is down or hangs costs LOOKUP_TIMEOUT_MS, not the
 * whole budget, and then the post step does not try again (it must end quickly). Returns the key
 * found, or why there is nothing to download.
 */
export async function lookUp(
  nix: NixInstallation,
  env: Record<string, string>,
  keys: { key: string; restoreKeys: string[]; reuse: ReuseAnalysis },
  deadline: number,
  ctx: StageContext
): Promise<{ found: string; cache: ActionsCache } | { miss: MissFields }> {
  const { key, restoreKeys, reuse } = keys
  const lookupMs = Math.min(LOOKUP_TIMEOUT_MS, Math.max(1000, deadline - Date.now()))
  const cache = await actionsCache()
  const { found, down } = await cacheLookup(
    () => cache.restoreCache([CACHE_PATH], key, restoreKeys, { lookupOnly: true }),
    lookupMs
  )
  if (down) {
    ctx.log.warning(`The image cache was not restored (building without it): ${down}`)
    return { miss: { status: 'error', detail: down, serviceDown: true } }
  }
  if (!found) {
    return {
      miss: {
        status: 'miss',
        detail:
          reuse.basis.kind === 'image'
            ? 'no entry for this image, its lock file or system'
            : `no entry for this image's ${reuse.basis.drvPaths.length} derivations that do not depend on the run's key`
      }
    }
  }
  // A daemon that says it does not trust this user would refuse the import: no download.
  if ((await storeTrust(nix, env)) === 'untrusted') {
    ctx.log.warning(`The image cache was found (${found}) but not used: ${UNTRUSTED_ADVICE}`)
    const detail = UNTRUSTED_ADVICE
    return { miss: { status: 'error', matchedKey: found, detail, refused: detail } }
  }
  return { found, cache }
}

/** Downloads the entry found, imports what the build uses of it, and says what that came to. */
export async function downloadAndImport(
  nix: NixInstallation,
  env: Record<string, string>,
  request: CacheRestoreRequest,
  entry: Pick<CacheRestore, 'substituters'> & {
    key: string
    reuse: ReuseAnalysis
    restoreKeys: string[]
    found: string
    cache: ActionsCache
  },
  run: { started: number; deadline: number; drvPath: string; dir: string; evaluations: EvalTimes },
  miss: Miss,
  ctx: StageContext
): Promise<CacheRestore> {
  const { key, reuse, found } = entry
  const { started, deadline, drvPath, dir } = run
  const kept = { key, reuse, substituters: entry.substituters }
  const matchedKey = await download(entry, run.deadline)
  if (typeof matchedKey !== 'string') {
    const detail = matchedKey.timedOut
      ? `the download of ${found} took over ${request.timeoutSeconds} s`
      : `restore of ${found} failed: ${matchedKey.failures.join('; ') || 'no entry after all'}`
    ctx.log.warning(`The image cache was not restored (building without it): ${detail}`)
    return miss({ status: 'error', ...kept, detail, serviceDown: matchedKey.timedOut })
  }
  const bytesRestored = await directoryBytes(dir)
  const sizes = await entryFileSizes(dir)
  // What this run computed it uses: the image's build closure and the devshell's, never more.
  const wanted = new Set(reuse.wanted)
  for (const path of await devshellWanted(nix, env, request, { dir, deadline }, ctx))
    wanted.add(path)
  const imported = await importEntry(nix.nixPath, dir, wanted, env, deadline, ctx.signal)
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
    evaluations: run.evaluations,
    detail
  }
}

/**
 * The download, within what is left of the budget. The library's own bounds (per request, per
 * segment) come first: they abort its requests, so a stalled segment ends cleanly; the deadline,
 * a little later, is the backstop. The key restored, or why none was.
 */
async function download(
  entry: { key: string; restoreKeys: string[]; cache: ActionsCache },
  deadline: number
): Promise<string | { timedOut: boolean; failures: string[] }> {
  const remaining = Math.max(1000, deadline - Date.now())
  const failures: string[] = []
  const restoring = quietly(
    () =>
      entry.cache.restoreCache([CACHE_PATH], entry.key, entry.restoreKeys, {
        timeoutInMs: remaining,
        segmentTimeoutInMs: remaining
      }),
    failures
  )
  const matchedKey = await withDeadline(restoring, remaining + DOWNLOAD_BACKSTOP_MS)
  if (matchedKey === TIMED_OUT) return { timedOut: true, failures }
  return matchedKey || { timedOut: false, failures }
}
