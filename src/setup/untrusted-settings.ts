// extra-nix-conf settings a Nix daemon ignores because it does not trust the user (issue 14).
// The client sends its settings to the daemon, which keeps from an untrusted user only a few
// (timeouts, poll interval, `builders` when empty) and, of `substituters`, only those listed in
// its own `substituters` or `trusted-substituters`; the rest it drops. Nix 2.26 says so for a
// substituter ("ignoring untrusted substituter '…', you are not a trusted user"), 2.8 says
// nothing, and neither says it for `trusted-public-keys` or `builders` (nix/src/libstore/daemon.cc,
// setOptions). Pure: the caller reads the user, groups and configuration.

/** Settings the daemon applies itself (so ignores from an untrusted user), by canonical name. */
const DAEMON_SIDE: Record<string, string> = {
  substituters: 'substituters',
  'binary-caches': 'substituters',
  'trusted-public-keys': 'trusted-public-keys',
  'binary-cache-public-keys': 'trusted-public-keys',
  builders: 'builders',
  'builders-use-substitutes': 'builders-use-substitutes',
  'require-sigs': 'require-sigs',
  sandbox: 'sandbox',
  'sandbox-paths': 'sandbox-paths',
  'system-features': 'system-features'
}

export interface TrustFacts {
  storeMode: 'daemon' | 'in-process'
  user: string
  /** Every group the user is in (primary included), by name. */
  groups: string[]
  /** `trusted-users` as the configuration says (the daemon reads the same /etc/nix/nix.conf). */
  trustedUsers: string[] | undefined
  /** `trusted-substituters` as the configuration says. */
  trustedSubstituters: string[]
  extraNixConf: string[]
}

/** `trusted-users` and `trusted-substituters` from `nix config show --json`. */
export function trustSettings(
  config: Record<string, { value?: unknown } | undefined>
): Pick<TrustFacts, 'trustedUsers' | 'trustedSubstituters'> {
  const list = (name: string): string[] | undefined => {
    const value = config[name]?.value
    return Array.isArray(value)
      ? value.filter((item): item is string => typeof item === 'string')
      : undefined
  }
  return {
    trustedUsers: list('trusted-users'),
    trustedSubstituters: list('trusted-substituters') ?? []
  }
}

/** `name = value` lines, `extra-` folded into the name it extends. */
function settings(lines: string[]): { name: string; value: string }[] {
  const found: { name: string; value: string }[] = []
  for (const line of lines) {
    const match = /^([A-Za-z][A-Za-z0-9-]*)[ \t]+=[ \t]*(.*)$/.exec(line.trim())
    if (match) found.push({ name: match[1].replace(/^extra-/, ''), value: match[2].trim() })
  }
  return found
}

/** Whether the daemon trusts the user; undefined when the configuration does not tell. */
export function userTrusted(
  facts: Pick<TrustFacts, 'user' | 'groups' | 'trustedUsers'>
): boolean | undefined {
  if (!facts.trustedUsers || !facts.user) return undefined
  return facts.trustedUsers.some(
    entry =>
      entry === '*' ||
      entry === facts.user ||
      (entry.startsWith('@') && facts.groups.includes(entry.slice(1)))
  )
}

/**
 * The warning, once, when extra-nix-conf sets what the daemon will ignore for this user; undefined
 * when the store is opened in-process, the user is trusted, trust is unknown, or nothing is lost.
 */
export function untrustedSettingsWarning(facts: TrustFacts): string | undefined {
  if (facts.storeMode !== 'daemon') return undefined
  const lines = settings(facts.extraNixConf)
  // Set in extra-nix-conf, these say what this client reads, not what the daemon read.
  if (lines.some(line => line.name === 'trusted-users')) return undefined
  if (userTrusted(facts) !== false) return undefined
  const allowed = lines.some(line => line.name === 'trusted-substituters')
    ? new Set<string>()
    : new Set(facts.trustedSubstituters.map(uri => uri.replace(/\/$/, '')))
  const ignored = new Set<string>()
  for (const { name, value } of lines) {
    const setting = DAEMON_SIDE[name]
    if (!setting) continue
    const uris = value.split(/\s+/).filter(Boolean)
    if (setting === 'substituters' && uris.every(uri => allowed.has(uri.replace(/\/$/, ''))))
      continue
    if (setting === 'builders' && !value) continue
    ignored.add(setting)
  }
  if (!ignored.size) return undefined
  const names = [...ignored].map(name => `\`${name}\``).join(', ')
  return (
    `extra-nix-conf sets ${names}, but the Nix daemon does not trust the user ${facts.user} ` +
    `(trusted-users = ${facts.trustedUsers?.join(' ') || '(none)'}), so it ignores ` +
    `${ignored.size === 1 ? 'it' : 'them'} (Nix 2.26 and later say "ignoring untrusted ` +
    `substituter", older ones nothing). Add ${facts.user} to trusted-users in the daemon's ` +
    `nix.conf (/etc/nix/nix.conf, then restart nix-daemon), or set ${names} in the daemon's ` +
    `nix.conf itself (a substituter in trusted-substituters lets users choose it; its key must ` +
    `be in the daemon's trusted-public-keys).`
  )
}
