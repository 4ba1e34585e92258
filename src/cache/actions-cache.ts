// The parts of the image cache that touch @actions/cache and the entry's directory, shared by the
// restore (main) and the save (post).
import { actionsCache } from '../shared/toolkit.js'
import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/**
 * The entry's directory, relative to the workspace. @actions/cache's version hashes the path
 * strings it is given, and its tar names entries relative to GITHUB_WORKSPACE and extracts them
 * there: a relative path is the same string on every runner and every run (an absolute one under
 * RUNNER_TEMP or a per-run workspace is not), lands in the same place whatever the workspace's
 * depth, and is private to the job (a fixed /tmp path would be shared by concurrent jobs on one
 * machine). It exists only while an entry is imported (main) or written (post).
 */
export const CACHE_PATH = '.boot-image-vm-nix-cache'

/** How long the first lookup may take (a healthy service answers in well under a second). */
export const LOOKUP_TIMEOUT_MS = 20_000

/** Why the Actions cache cannot be used here, or undefined when it can. */
export async function cacheUnavailable(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (!env.ACTIONS_RUNTIME_TOKEN || !(await actionsCache()).isFeatureAvailable()) {
    return 'the Actions cache service is not available here (no ACTIONS_RUNTIME_TOKEN / ACTIONS_RESULTS_URL)'
  }
  const workspace = resolve(env.GITHUB_WORKSPACE || process.cwd())
  if (workspace !== resolve(process.cwd())) {
    return `the working directory is not GITHUB_WORKSPACE (${workspace}), where @actions/cache puts entries`
  }
  return undefined
}

/** Flags every nix call of the cache carries (the drop-in may be gone by the post step). */
export const nixFlags = ['--extra-experimental-features', 'nix-command']

export async function directoryBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += await directoryBytes(path)
    else if (entry.isFile()) total += (await stat(path)).size
  }
  return total
}
