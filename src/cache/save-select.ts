// What the post step's save stores: the candidates (built here and, for an image that bakes the
// run's key, independent of that key), their closures split into what a substituter serves and
// what only this store has, and the plan that fits under cache-max-size. save.ts writes and
// uploads what this chooses.
import { dirname, join } from 'node:path'
import { nixError } from '../shared/nix-error.js'
import { MAX_QUERY_BYTES, run } from '../shared/process.js'
import { nixFlags } from './actions-cache.js'
import type { EntryManifest } from './entry.js'
import {
  dependenciesFirst,
  parsePathInfo,
  planSave,
  splitByKey,
  type PathInfo,
  type SavePlan
} from './keys.js'
import { drvClosure, drvOutputs } from './reuse.js'
import type { CacheSaveState } from './save-state.js'
import { servedPaths, signedByTrustedKey } from './substituters.js'

/** The one line a run that bakes its key and uses nothing built locally gets. */
export const NOTHING_REUSABLE = "nothing to cache: every built path depends on the run's key"

/** Valid outputs of every derivation the image's .drv depends on (its build-time closure). */
async function buildClosure(
  state: CacheSaveState,
  env: Record<string, string>,
  deadline: number
): Promise<string[]> {
  if (!state.drvPaths.length) return []
  const nixStore = join(dirname(state.nixPath), 'nix-store')
  const query = await run(nixStore, ['-qR', '--include-outputs', ...state.drvPaths], {
    env,
    timeoutMs: deadline - Date.now(),
    maxBytes: MAX_QUERY_BYTES
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
    const info = await run(nixPath, [...args, ...paths.slice(i, i + 500)], {
      env,
      timeoutMs: deadline - Date.now(),
      maxBytes: MAX_QUERY_BYTES
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

export interface Selection {
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

/** What goes into the entry, and what the save's detail tells about it. */
export interface EntryChoice extends Selection {
  plan: SavePlan
  /** The roots left out to stay under cache-max-size. */
  leftOut: SavePlan['leftOut']
  /** How many build-time paths did not fit (many and expected: counted, not named). */
  skippedExtra: number
  /** The devshell's environment: roots outside the builds' closure. */
  extra: string[]
}

/** Why nothing is saved, with the roots that did not fit when that is why. */
export interface NothingToSave {
  skip: string
  leftOut: SavePlan['leftOut']
}

/** The entry's plan: the local closure of the candidates, under cache-max-size. */
export async function chooseEntry(
  state: CacheSaveState,
  env: Record<string, string>,
  deadline: number
): Promise<EntryChoice | NothingToSave> {
  const found = await candidates(state, env, deadline)
  if (found.none) return { skip: found.none, leftOut: [] }
  const selection = await selectLocal(state, found.roots, env, deadline)
  const localPaths = new Set(selection.local.map(info => info.path))
  const roots = found.roots.filter(root => localPaths.has(root))
  if (!roots.length) {
    const skip =
      state.kind === 'deps'
        ? `${NOTHING_REUSABLE} (the substituters serve the ${selection.served.length} paths that do not)`
        : 'nothing to cache: the substituters serve every path of the image'
    return { skip, leftOut: [] }
  }
  const plan = planSave(roots, selection.local, state.maxBytes)
  // Build-time paths that did not fit are many and expected; name only the roots left out.
  const named = state.kind === 'deps' ? roots : state.roots
  const leftOut = plan.leftOut.filter(item => named.includes(item.root))
  if (!plan.paths.length) return { skip: 'nothing fits under cache-max-size', leftOut }
  const skippedExtra = plan.leftOut.length - leftOut.length
  return { ...selection, plan, leftOut, skippedExtra, extra: found.extra }
}

/**
 * The entry's manifest (pure): the planned paths dependencies first, the served paths they refer
 * to (described by stub .narinfo files, their NARs not stored), and the stored or external paths
 * of the devshell's environment, which the import must keep. external: those served paths' infos.
 */
export function entryManifest(choice: Pick<EntryChoice, 'plan' | 'local' | 'served' | 'extra'>): {
  manifest: EntryManifest
  external: PathInfo[]
} {
  const { plan, local, served } = choice
  const stored = new Set(plan.paths)
  const externalPaths = new Set(
    local
      .filter(info => stored.has(info.path))
      .flatMap(info => info.references)
      .filter(ref => !stored.has(ref))
  )
  const external = served.filter(info => externalPaths.has(info.path))
  // The devshell's environment is not in the image's closure: the import must know to keep it.
  const keep = planSave(choice.extra, [...local, ...served], Number.MAX_SAFE_INTEGER).paths
  const manifest = {
    version: 1 as const,
    stored: dependenciesFirst(plan.paths, local),
    external: external.map(info => info.path),
    keep: keep.filter(path => stored.has(path) || externalPaths.has(path))
  }
  return { manifest, external }
}
