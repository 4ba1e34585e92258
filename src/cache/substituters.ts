// Which store paths the configured substituters already serve: those are never stored in the
// entry (a runner fetches them from the substituter anyway, and cache.nixos.org's share of a
// NixOS image is most of it). Asked with `nix path-info --json --store <substituter>`, which
// lists a missing path as invalid (Nix < 2.19: `"valid": false`; later: `null`) and exits 0 on
// every Nix from 2.8, in batches, several at once, bounded in time.
import { MAX_QUERY_BYTES, run } from '../shared/process.js'
import { nixFlags } from './actions-cache.js'
import { parsePathInfo, type PathInfo } from './keys.js'

export interface SubstituterConfig {
  /** `substituters` as this user's nix sees it (extra-substituters included). */
  substituters: string[]
  /** `trusted-public-keys`, `name:base64`. */
  trustedKeys: string[]
}

const listOf = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string' && item !== '')
    : typeof value === 'string'
      ? value.split(/\s+/).filter(Boolean)
      : []

/** From `nix show-config --json` / `nix config show --json`. Pure. */
export function parseSubstituterConfig(json: string): SubstituterConfig {
  const config = JSON.parse(json) as Record<string, { value?: unknown } | undefined>
  return {
    substituters: listOf(config.substituters?.value),
    trustedKeys: listOf(config['trusted-public-keys']?.value)
  }
}

/** Signed by a key nix trusts: it came from a substituter, which very likely still serves it. */
export function signedByTrustedKey(info: PathInfo, trustedKeys: string[]): boolean {
  const names = new Set(trustedKeys.map(key => key.slice(0, key.indexOf(':'))))
  return (info.signatures ?? []).some(sig => names.has(sig.slice(0, sig.indexOf(':'))))
}

export async function substituterConfig(
  nixPath: string,
  configShow: string[],
  env: Record<string, string>,
  timeoutMs: number
): Promise<SubstituterConfig | undefined> {
  const shown = await run(nixPath, [...configShow, '--json', ...nixFlags], {
    env,
    timeoutMs
  })
  if (shown.exitCode !== 0) return undefined
  try {
    return parseSubstituterConfig(shown.stdout)
  } catch {
    return undefined
  }
}

export interface ServedAnswer {
  served: Set<string>
  /** Substituters that did not answer (in time, or at all), with why. */
  unanswered: string[]
}

const BATCH = 200
const AT_ONCE = 4

/** Asks each substituter in turn about the paths no earlier one serves. */
export async function servedPaths(
  nixPath: string,
  substituters: string[],
  paths: string[],
  env: Record<string, string>,
  timeoutMs: number
): Promise<ServedAnswer> {
  const deadline = Date.now() + timeoutMs
  const served = new Set<string>()
  const unanswered: string[] = []
  for (const substituter of substituters) {
    const left = paths.filter(path => !served.has(path))
    if (!left.length) break
    const batches: string[][] = []
    for (let i = 0; i < left.length; i += BATCH) batches.push(left.slice(i, i + BATCH))
    const failures: string[] = []
    const ask = async (batch: string[]): Promise<void> => {
      const args = ['path-info', ...nixFlags, '--json', '--store', substituter, ...batch]
      const answer = await run(nixPath, args, {
        env,
        timeoutMs: deadline - Date.now(),
        maxBytes: MAX_QUERY_BYTES
      })
      if (answer.exitCode !== 0) {
        failures.push(answer.timedOut ? 'no answer in time' : answer.stderr.trim().split('\n')[0])
        return
      }
      for (const info of parsePathInfo(answer.stdout)) served.add(info.path)
    }
    for (let i = 0; i < batches.length; i += AT_ONCE) {
      await Promise.all(batches.slice(i, i + AT_ONCE).map(ask))
    }
    if (failures.length) unanswered.push(`${substituter} (${failures[0]})`)
  }
  return { served, unanswered }
}
