// The `nix-shell.XXXXXX` directories `nix develop` leaves in TMPDIR: found before the devshell
// build, and the new ones deleted after it (only this user's own directories, never a symlink).
import { lstat, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

/** The directory `nix develop` creates its `nix-shell.XXXXXX` in: TMPDIR, or /tmp when unset. */
export function shellTempParent(env: Record<string, string>): string {
  return env.TMPDIR || '/tmp'
}

/** Names of the `nix-shell.*` directories in dir (none when it cannot be read). */
export async function nixShellDirs(dir: string): Promise<Set<string>> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  return new Set(
    entries.filter(e => e.isDirectory() && e.name.startsWith('nix-shell.')).map(e => e.name)
  )
}

/**
 * `nix develop` never deletes the `$TMPDIR/nix-shell.XXXXXX` it creates. The devshell build must
 * see that real nesting (it is what a harness inside the devshell gets), so the directories are
 * deleted afterwards: exactly those that appeared during the build and are still directories
 * owned by this user, never a symlink or anyone else's.
 */
export async function removeNewShellDirs(dir: string, before: Set<string>): Promise<string[]> {
  const removed: string[] = []
  const uid = process.getuid?.()
  for (const name of await nixShellDirs(dir)) {
    if (before.has(name)) continue
    const path = join(dir, name)
    const info = await lstat(path).catch(() => undefined)
    if (!info?.isDirectory() || (uid !== undefined && info.uid !== uid)) continue
    await rm(path, { recursive: true, force: true }).then(
      () => removed.push(path),
      () => undefined
    )
  }
  return removed
}
