// What post reads from main's state, checked before post acts on it. State can be forged: the
// runner still obeys a `::save-state` line on stdout, and main echoes text from builders, the flake's
// evaluation and the guest. Post deletes, uploads and runs what state names, so each value must
// be what main itself would have written: paths inside the action's own run directory
// (<RUNNER_TEMP or the temp dir>/boot-image-vm-XXXXXX, made by main and owned by this user), a
// pid that is a QEMU, the Nix this step finds itself. A value that fails is ignored with a warning
// naming the state and why; the checks on the strings are pure.
import { accessSync, constants, realpathSync, statSync } from 'node:fs'
import { delimiter, isAbsolute, join, relative, sep } from 'node:path'
import { STATE } from './state.js'

/** mkdtemp's six characters after main's prefix. */
const RUN_DIR_NAME = /^boot-image-vm-[A-Za-z0-9]{6}$/

/** Where main's run directories are: RUNNER_TEMP, else the temp dir. */
export interface RunDirRoots {
  /** Real paths (symbolic links resolved). */
  roots: string[]
  /** The user post runs as: a run directory is this user's. */
  uid: number
}

/**
 * Why a real path is not `<root>/boot-image-vm-XXXXXX/<part>` (exactly, or inside it when
 * `inside`), or undefined when it is. Returns the run directory too. Pure.
 */
export function runDirOf(
  realPath: string,
  roots: string[],
  part: 'work' | 'report',
  inside: boolean
): { runDir: string } | { reason: string } {
  for (const root of roots) {
    const rel = relative(root, realPath)
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) continue
    const [name, sub, ...rest] = rel.split(sep)
    if (!RUN_DIR_NAME.test(name)) continue
    if (sub !== part || (inside ? rest.length === 0 : rest.length > 0)) {
      const want = inside ? `inside ${part}/` : `${part}/ itself`
      return { reason: `${realPath} is not ${want} of the action's run directory` }
    }
    return { runDir: join(root, name) }
  }
  return {
    reason: `${realPath} is outside the action's run directories (${roots.map(r => join(r, 'boot-image-vm-*')).join(', ')})`
  }
}

/** The run directory's roots for this step: RUNNER_TEMP and the temp dir, resolved. */
export function runDirRoots(env: NodeJS.ProcessEnv, tempDir: string): RunDirRoots {
  const roots = [env.RUNNER_TEMP, tempDir].flatMap(root => {
    if (!root || !isAbsolute(root)) return []
    try {
      return [realpathSync(root)]
    } catch {
      return []
    }
  })
  return { roots: [...new Set(roots)], uid: process.getuid?.() ?? -1 }
}

export type Checked = { path: string } | { reason: string } | { absent: true }

/**
 * A path from state checked against the run directory (symbolic links resolved, so a link out
 * of it does not pass); absent when it no longer exists (nothing to do, nothing to warn of).
 */
export function checkRunPath(
  path: string,
  dirs: RunDirRoots,
  part: 'work' | 'report',
  inside: boolean
): Checked {
  if (!isAbsolute(path) || path.includes('\0')) return { reason: `${path} is not an absolute path` }
  let real: string
  try {
    real = realpathSync(path)
  } catch {
    return { absent: true }
  }
  const found = runDirOf(real, dirs.roots, part, inside)
  if ('reason' in found) return found
  const owner = statSync(found.runDir).uid
  if (dirs.uid >= 0 && owner !== dirs.uid) {
    return { reason: `${found.runDir} belongs to uid ${owner}, not to this step's user` }
  }
  return { path: real }
}

/** A pid from state: a positive integer that is not this step nor its parent. Pure. */
export function checkPid(raw: string): { pid: number } | { reason: string } {
  if (!/^[1-9]\d{0,9}$/.test(raw)) return { reason: `'${raw.slice(0, 40)}' is not a process id` }
  const pid = Number(raw)
  if (pid === 1 || pid === process.pid || pid === process.ppid) {
    return { reason: `${pid} is init, this step or its parent` }
  }
  return { pid }
}

/** The files setup made that post deletes (JSON array of paths, each inside work/). */
export function checkCleanupPaths(
  raw: string,
  dirs: RunDirRoots
): { paths: string[]; reasons: string[] } {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return { paths: [], reasons: ['not JSON'] }
  }
  if (!Array.isArray(parsed)) return { paths: [], reasons: ['not a list of paths'] }
  const paths: string[] = []
  const reasons: string[] = []
  for (const item of parsed) {
    const checked =
      typeof item === 'string'
        ? checkRunPath(item, dirs, 'work', true)
        : { reason: 'an entry that is not a path' }
    if ('path' in checked) paths.push(checked.path)
    else if ('reason' in checked) reasons.push(checked.reason)
  }
  return { paths, reasons }
}

/** The warning for a state value post ignores. */
export function ignoredState(name: (typeof STATE)[keyof typeof STATE], reason: string): string {
  return `Post step: ignored the state '${name}' main handed over: ${reason}`
}

/** The real path of a file, or undefined when it does not exist. */
export function realPath(path: string): string | undefined {
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}

/** Every executable nix on PATH and in the usual locations, as real paths: the Nix post trusts. */
export function nixCandidates(pathVariable: string, locations: string[]): string[] {
  const found = pathVariable
    .split(delimiter)
    .filter(dir => isAbsolute(dir))
    .map(dir => join(dir, 'nix'))
    .concat(locations)
    .flatMap(path => {
      try {
        accessSync(path, constants.X_OK)
        const real = realpathSync(path)
        return statSync(real).isFile() ? [real] : []
      } catch {
        return []
      }
    })
  return [...new Set(found)]
}
