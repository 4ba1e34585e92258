// Where Nix is: the machine's usual locations (injectable, so tests never touch the real ones),
// the first executable nix on PATH or there, and whether it is the version asked for.
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

/** Machine locations, injectable so tests never depend on (or touch) the real ones. */
export interface SetupPaths {
  /** Where to look for nix after PATH. */
  nixLocations: string[]
  /** Nix's state directory (NIX_STATE_DIR, else /nix/var/nix). */
  stateDir: string
  daemonSocket: string
  /** Present when systemd runs: a multi-user install. */
  systemdDir: string
}

export function defaultSetupPaths(env: NodeJS.ProcessEnv): SetupPaths {
  const home = env.HOME ?? ''
  const stateDir = env.NIX_STATE_DIR || '/nix/var/nix'
  return {
    nixLocations: [
      '/nix/var/nix/profiles/default/bin/nix',
      ...(home ? [join(home, '.nix-profile/bin/nix')] : []),
      '/run/current-system/sw/bin/nix',
      '/usr/bin/nix',
      '/usr/local/bin/nix'
    ],
    stateDir,
    daemonSocket: env.NIX_DAEMON_SOCKET_PATH || join(stateDir, 'daemon-socket/socket'),
    systemdDir: '/run/systemd/system'
  }
}

export const can = (path: string, mode: number = constants.F_OK): Promise<boolean> =>
  access(path, mode).then(
    () => true,
    () => false
  )

/** The first executable nix on PATH, then in the usual locations. */
export async function findNix(
  pathVariable: string,
  locations: string[]
): Promise<string | undefined> {
  const onPath = pathVariable
    .split(delimiter)
    .filter(dir => dir.startsWith('/'))
    .map(dir => join(dir, 'nix'))
  for (const candidate of [...onPath, ...locations]) {
    if (await can(candidate, constants.X_OK)) return candidate
  }
  return undefined
}

/** The warning when `nix-version` asks for another version than the Nix found. Pure. */
export function versionMismatch(
  requested: string,
  found: { nixPath: string; variant: string; version: string }
): string | undefined {
  const wanted = requested.split('@')[0]
  if (!wanted || found.version === wanted) return undefined
  return (
    `nix-version asks for Nix ${wanted}, but the Nix already here (${found.nixPath}) is ` +
    `${found.variant} ${found.version}, and the action uses it as it is. Set 'nix: install' to ` +
    `install ${wanted}, or clear nix-version to accept the Nix the runner has.`
  )
}
