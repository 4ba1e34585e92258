// What main hands the post step, as JSON state, for the image cache's save (save.ts).

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

/** What post itself knows, to check the state against. */
export interface SaveStateExpected {
  /** The entry's directory as post computes it (the workspace's CACHE_PATH). */
  dir: string
  /** The real paths of every Nix post finds itself (on PATH, in the usual locations). */
  nixPaths: string[]
  /** Resolves a path to its real path (undefined when it does not exist). */
  realPath(path: string): string | undefined
  /** Post's own environment: main exported Nix's variables to it. */
  env: NodeJS.ProcessEnv
}

/** A store path, and nothing Nix would read as an option. */
const STORE_PATH = /^\/[\w/.+-]*\/[0-9a-df-np-sv-z]{32}-[\w+\-.?=]+$/
const SUBSTITUTER = /^(?:https?|s3|gs|file):\/\/[^\s]+$/
const TRUSTED_KEY = /^[\w.+-]+:[A-Za-z0-9+/]+=*$/
const KEY = /^boot-image-vm-v\d+-[\w.@+=,-]{1,400}$/

/**
 * The save state main handed over, or why post must not use it: post runs its Nix with its
 * arguments, environment and directory, so a forged one could run any program or delete any
 * directory. Pure (realPath injected).
 */
export function checkCacheSaveState(
  raw: string,
  expected: SaveStateExpected
): { state: CacheSaveState } | { reason: string } {
  let state: CacheSaveState
  try {
    state = JSON.parse(raw) as CacheSaveState
  } catch {
    return { reason: 'not JSON' }
  }
  if (typeof state !== 'object' || state === null) return { reason: 'not an object' }
  const reason =
    nixReason(state, expected) ??
    (state.dir !== expected.dir ? `dir is not ${expected.dir}` : undefined) ??
    shapeReason(state)
  return reason ? { reason } : { state }
}

function nixReason(state: CacheSaveState, expected: SaveStateExpected): string | undefined {
  const real = typeof state.nixPath === 'string' ? expected.realPath(state.nixPath) : undefined
  if (!real || !expected.nixPaths.includes(real)) {
    const found = expected.nixPaths.join(', ') || 'none'
    return `nixPath ${String(state.nixPath).slice(0, 200)} is not a Nix this step finds (${found})`
  }
  const env = state.nixEnv && typeof state.nixEnv === 'object' ? state.nixEnv : {}
  const changed = Object.entries(env).filter(([name, value]) => expected.env[name] !== value)
  if (changed.length) {
    return `nixEnv sets ${changed.map(([name]) => name.slice(0, 60)).join(', ')}, which main did not export to the job`
  }
  return undefined
}

function shapeReason(state: CacheSaveState): string | undefined {
  if (!Array.isArray(state.roots) || !Array.isArray(state.drvPaths)) {
    return 'roots or drvPaths is not a list'
  }
  const other = state.otherDrvPath === undefined ? [] : [state.otherDrvPath]
  const paths: unknown[] = [...state.roots, ...state.drvPaths, ...other]
  const notStore = paths.find(path => !STORE_PATH.test(String(path)))
  if (notStore !== undefined) return `${String(notStore).slice(0, 200)} is not a store path`
  if (!KEY.test(String(state.key)))
    return `key ${String(state.key).slice(0, 200)} is not an image cache key`
  if (state.kind !== 'image' && state.kind !== 'deps') return 'kind is neither image nor deps'
  if (!asList(state.substituters).every(url => SUBSTITUTER.test(String(url)))) {
    return 'a substituter is not an http(s), s3, gs or file URL'
  }
  if (!asList(state.trustedKeys).every(key => TRUSTED_KEY.test(String(key)))) {
    return 'a trusted key is not name:base64'
  }
  const positive = (n: unknown): boolean => typeof n === 'number' && n > 0 && Number.isFinite(n)
  if (!positive(state.maxBytes) || !positive(state.timeoutSeconds)) {
    return 'maxBytes or timeoutSeconds is not a positive number'
  }
  return undefined
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value]
}
