// What the image cache asks Nix about the run, apart from the image: the flake's lock file (part
// of the key), the devshell's environment (saved beside the image), and whether the store takes
// the entry's unsigned paths from this user.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readlink, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { NixInstallation } from '../model/index.js'
import { MAX_QUERY_BYTES, run } from '../shared/process.js'
import { nixFlags } from './actions-cache.js'

/** What an untrusted user of a daemon is told (the daemon refuses unsigned paths from it). */
export const UNTRUSTED_ADVICE =
  'the Nix daemon does not trust this user, so it refuses the unsigned paths of a cache entry: ' +
  "add the runner's user to `trusted-users` in the daemon's nix.conf (or run as root); " +
  'building without the image cache'

/** 'untrusted' only when the daemon says so (`Trusted: 0`, Nix 2.19 and later); in-process: trusted. */
export async function storeTrust(
  nix: NixInstallation,
  env: Record<string, string>
): Promise<'trusted' | 'untrusted' | 'unknown'> {
  if (nix.storeMode !== 'daemon') return 'trusted'
  const ping = await run(nix.nixPath, ['store', 'ping', ...nixFlags], {
    env,
    timeoutMs: 10_000
  })
  const trusted = /^Trusted:\s*(\d)/m.exec(ping.stdout + ping.stderr)?.[1]
  return trusted === '1' ? 'trusted' : trusted === '0' ? 'untrusted' : 'unknown'
}

/** A hash of the flake's lock file: the file for a local flake, `nix flake metadata` otherwise. */
export async function flakeLockHash(
  nix: NixInstallation,
  flake: string,
  env: Record<string, string>,
  signal?: AbortSignal
): Promise<string> {
  const sha = (text: string): string => createHash('sha256').update(text).digest('hex')
  const local = /^(?:path:|git\+file:(?:\/\/)?)?(\.{1,2}|\.{0,2}\/[^?#]*)(?:[?#].*)?$/.exec(flake)
  if (local) {
    const lock = join(resolve(local[1]), 'flake.lock')
    return existsSync(lock) ? sha(readFileSync(lock, 'utf8')) : ''
  }
  const metadata = await run(nix.nixPath, ['flake', 'metadata', '--json', ...nixFlags, flake], {
    env,
    signal,
    maxBytes: MAX_QUERY_BYTES
  })
  if (metadata.exitCode !== 0) return ''
  try {
    const locks = (JSON.parse(metadata.stdout) as { locks?: unknown }).locks
    return locks ? sha(JSON.stringify(locks)) : ''
  } catch {
    return ''
  }
}

/**
 * The environment derivation `nix develop` builds for the devshell (its closure is everything
 * the shell puts on PATH), through a throw-away profile; undefined when it cannot be had.
 */
export async function devshellEnvPath(
  nix: NixInstallation,
  installable: string,
  env: Record<string, string>,
  tempDir: string,
  signal?: AbortSignal
): Promise<string | undefined> {
  const profileDir = join(tempDir, 'devshell-profile')
  await mkdir(profileDir, { recursive: true })
  const profile = join(profileDir, 'env')
  try {
    const args = ['print-dev-env', ...nixFlags, '--impure', installable, '--profile', profile]
    const printed = await run(nix.nixPath, args, { env: { ...env, ...nix.env }, signal })
    if (printed.exitCode !== 0) return undefined
    let target = profile
    for (let hop = 0; hop < 5 && !target.startsWith('/nix/store/'); hop++) {
      target = resolve(dirname(target), await readlink(target))
    }
    return target.startsWith('/nix/store/') ? target : undefined
  } catch {
    return undefined
  } finally {
    await rm(profileDir, { recursive: true, force: true }).catch(() => undefined)
  }
}
