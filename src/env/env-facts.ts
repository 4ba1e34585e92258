// Pure: what differs between the contexts besides variables (the .drv, the Nix version, nix.conf
// settings, the store), as EnvDifference rows with pseudo-variable names.
import type { EnvDifference, Likelihood } from '../model/index.js'
import type { ContextCapture } from './types.js'

// ---- facts as pseudo-variables ----------------------------------------------------------------

/** A pseudo-variable's name (".drv", "nix version", "nix.conf sandbox"…): no variable has one. */
export const isPseudoVariable = (name: string) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)

const SETTING_REASON: Record<string, [Likelihood, string]> = {
  store: ['high', 'which store builds go to'],
  sandbox: ['high', 'whether builders see the host filesystem, and where their build dir appears'],
  'build-dir': ['high', 'where build directories are created'],
  'experimental-features': ['high', 'flakes and nix-command must be on for nix build .#…'],
  'build-users-group': ['high', 'whether builds run as build users or as the caller'],
  'system-features': ['high', 'a derivation that requires a missing feature (kvm) cannot build'],
  substituters: ['medium', 'where prebuilt paths come from; an unreachable one costs time'],
  'sandbox-build-dir': ['medium', 'the path a sandboxed builder sees as its build directory']
}

/**
 * What differs besides variables, as EnvDifference rows with pseudo-variable names, so that
 * report.json and the summary carry them: the .drv, nix version or binary, store mode, each
 * setting, and the socket headroom.
 */
export function factDifferences(host: ContextCapture, dev: ContextCapture): EnvDifference[] {
  const out: EnvDifference[] = []
  if (!dev.ok) return out
  const add = (name: string, a: Fact, b: Fact, likelihood: Likelihood, reason: string) => {
    if ((a ?? null) === (b ?? null)) return
    const kind = a == null ? 'added' : b == null ? 'removed' : 'changed'
    const values = { ...(a == null ? {} : { host: a }), ...(b == null ? {} : { devshell: b }) }
    out.push({ name, kind, ...values, likelihood, reason })
  }
  add('.drv', host.drvPath, dev.drvPath, 'high', 'another derivation is another build')
  const [h, d] = [host.nix, dev.nix]
  add('nix version', h.version, d.version, 'high', 'another nix: other defaults and rules')
  if (h.version === d.version) {
    add('nix binary', h.realPath, d.realPath, 'medium', 'another build of the same nix version')
  }
  add('store mode', host.store.mode, dev.store.mode, 'high', 'in-process builds use TMPDIR')
  if (!host.settingsError && !dev.settingsError) {
    const keys = new Set([...Object.keys(host.settings), ...Object.keys(dev.settings)])
    for (const key of [...keys].sort()) {
      const [likelihood, reason] = SETTING_REASON[key] ?? ['medium', 'a nix setting']
      add(`nix.conf ${key}`, host.settings[key], dev.settings[key], likelihood, reason)
    }
  }
  const [m, n] = [host.tmpdir.socketHeadroom, dev.tmpdir.socketHeadroom]
  if (m !== null && n !== null) {
    const reason = "bytes left for a unix socket's path in the image's build directory"
    add('socket headroom', `${m} bytes`, `${n} bytes`, n < m ? 'high' : 'low', reason)
  }
  return out
}

type Fact = string | null | undefined
