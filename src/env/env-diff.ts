// Pure: parse `env -0`, redact, and say in plain words what differs between the build's own
// context and the devshell's, most likely cause of a different build first.
import { createHmac, randomBytes } from 'node:crypto'
import type { EnvDifference, Likelihood } from '../model/index.js'
import { isNamedSecret, isSecretName, type Secrets } from '../shared/secrets.js'
import type { ContextCapture, ContextFacts, StoreFacts } from './types.js'
import { factDifferences, isPseudoVariable, verdictsFor } from './env-verdicts.js'

export { CAPTURED_SETTINGS, nixReason, parseConfigJson, renderSetting } from './nix-output.js'

export { renderDiffMarkdown } from './env-render.js'
export { plannedBuildDir, socketHeadroom, SUN_PATH_MAX } from './env-verdicts.js'

const NAME = /^[A-Za-z_][A-Za-z0-9_]*=/
const NAME_AFTER_NEWLINE = /\n([A-Za-z_][A-Za-z0-9_]*=)/

/**
 * `env -0` output into variables. A shellHook that prints to stdout leaves its text in front of
 * the first record ("Welcome\nPATH=…"): that text is dropped.
 */
export function parseEnv0(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  const records = text.split('\0')
  for (let i = 0; i < records.length; i++) {
    let record = records[i]
    if (i === 0 && !NAME.test(record)) {
      const match = NAME_AFTER_NEWLINE.exec(record)
      if (!match) continue
      record = record.slice(match.index + 1)
    }
    const eq = record.indexOf('=')
    if (eq <= 0) continue
    env[record.slice(0, eq)] = record.slice(eq + 1)
  }
  return env
}

// Keyed per process: the same value redacts to the same tag in both contexts of one report, but
// a tag cannot be looked up or brute-forced offline from the report.
const REDACTION_KEY = randomBytes(32)

export function redactedTag(value: string): string {
  const digest = createHmac('sha256', REDACTION_KEY).update(value).digest('hex')
  return `<redacted sha256:${digest.slice(0, 8)}>`
}

/**
 * The environment with the value of every secret-looking name, and every value that contains a
 * known secret (or such a value), replaced by a short keyed hash: equal values get equal tags, so
 * whether a secret differs between the contexts stays visible. Empty values stay empty.
 */
export function redactEnv(env: Record<string, string>, secrets: Secrets): Record<string, string> {
  const known = secrets.values()
  // Copies elsewhere are hidden only of values that are secrets by the action's one rule: a
  // KEY_SIZE=2048 or a TOKEN_ENABLED=true must not redact every variable that contains it.
  for (const [name, value] of Object.entries(env)) if (isNamedSecret(name, value)) known.push(value)
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    const secret = value !== '' && (isSecretName(name) || known.some(s => value.includes(s)))
    out[name] = secret ? redactedTag(value) : value
  }
  return out
}

// ---- classification ----------------------------------------------------------------------------

export const TMP_NAMES = ['TMPDIR', 'TMP', 'TEMP', 'TEMPDIR', 'NIX_BUILD_TOP']

const TMP_REASON =
  'in-process builds (no daemon, Nix < 2.30) put their build directory under it: a longer path leaves less room for unix sockets, a removed one breaks the build'
const TMP_REASON_ELSEWHERE: Record<'daemon' | 'remote', string> = {
  daemon:
    "builds go through the daemon, which builds under its own TMPDIR or build-dir: this context's TMPDIR does not reach them",
  remote: "builds run on another store: this context's TMPDIR does not reach them"
}

const HIGH: Record<string, string> = {
  NIX_BUILD_TOP: "nix develop's own temp dir, which TMPDIR then points at; it is never deleted",
  NIX_CONFIG: 'extra nix.conf lines that every nix command in the context applies',
  NIX_REMOTE: 'chooses the store: the daemon, or in-process with the build directory under TMPDIR',
  NIX_PATH: 'resolves <nixpkgs> and other <…> lookups in impure evaluation',
  NIX_CONF_DIR: 'the directory nix.conf is read from',
  NIX_USER_CONF_FILES: 'the user nix.conf files read after the system one',
  NIX_STATE_DIR: 'which store nix opens',
  NIX_STORE_DIR: 'which store nix opens',
  NIX_DAEMON_SOCKET_PATH: 'which daemon nix talks to',
  SSL_CERT_FILE:
    'the CA bundle for downloads: nix develop drops it (NixOS/nix#12234), which breaks single-user substitution',
  NIX_SSL_CERT_FILE: 'the CA bundle nix uses for substituters and fetchers',
  HOME: 'the user nix.conf (~/.config/nix/nix.conf) and the fetcher caches live under it',
  XDG_CONFIG_HOME: 'the user nix.conf is read from $XDG_CONFIG_HOME/nix/nix.conf',
  XDG_CONFIG_DIRS: 'nix.conf is also read from each $XDG_CONFIG_DIRS/nix/nix.conf'
}

const LOCALE = /^(LANG|LANGUAGE|LC_[A-Z_]+|LOCALE_ARCHIVE(_.*)?|TZ|TZDIR)$/
const DERIVATION_ATTRS = new Set(
  (
    'builder name system shellHook out outputs args stdenv src buildInputs nativeBuildInputs ' +
    'propagatedBuildInputs propagatedNativeBuildInputs depsBuildBuild depsHostHost depsTargetTarget ' +
    'buildPhase installPhase phases patches doCheck doInstallCheck strictDeps preferLocalBuild ' +
    'allowSubstitutes configureFlags cmakeFlags mesonFlags dontAddDisableDepTrack __structuredAttrs ' +
    '__ignoreNulls passAsFile'
  ).split(' ')
)
const SHELL_BOOKKEEPING = new Set(['SHLVL', 'PWD', 'OLDPWD', '_', 'SHELL', 'BASHOPTS', 'SHELLOPTS'])

export interface ClassifyOptions {
  /** Variables the flake reads with builtins.getEnv (the root key's variable). */
  keyNames?: string[]
  /** Whether the first `nix` on PATH differs between the contexts, and where it points. */
  pathNix?: { differs: boolean; host: string | null; devshell: string | null }
  /** Where the compared builds run; TMPDIR and its kin matter only in-process (the default). */
  storeMode?: StoreFacts['mode']
}

export function classifyVariable(
  name: string,
  options: ClassifyOptions = {}
): { likelihood: Likelihood; reason: string } {
  const high = (reason: string) => ({ likelihood: 'high' as const, reason })
  const medium = (reason: string) => ({ likelihood: 'medium' as const, reason })
  const low = (reason: string) => ({ likelihood: 'low' as const, reason })
  if (options.keyNames?.includes(name)) {
    return high(
      'the flake reads it with builtins.getEnv under --impure: another value, another .drv'
    )
  }
  if (HIGH[name]) return high(HIGH[name])
  if (TMP_NAMES.includes(name)) {
    const mode = options.storeMode ?? 'in-process'
    return mode === 'in-process' ? high(TMP_REASON) : low(TMP_REASON_ELSEWHERE[mode])
  }
  if (name === 'PATH') {
    const nix = options.pathNix
    if (nix?.differs) {
      const where = (path: string | null) => path ?? 'none'
      return high(`the first nix on PATH differs: ${where(nix.host)} vs ${where(nix.devshell)}`)
    }
    return medium(
      `other tools come first; nix still resolves to ${nix?.host ?? 'the same binary'} in both`
    )
  }
  if (name === 'IN_NIX_SHELL') {
    return medium('tells tools they run inside nix develop: flakes and test harnesses branch on it')
  }
  if (name.startsWith('NIX_')) return medium('read by nix or by Nix-aware tools')
  if (name.startsWith('LD_')) {
    return medium('changes which shared libraries nix and the builders it starts load')
  }
  if (LOCALE.test(name)) return medium('locale: changes messages, sorting and encodings in tools')
  if (name.startsWith('GIT_')) return medium('git reads it, and flake evaluation fetches git trees')
  if (DERIVATION_ATTRS.has(name)) {
    return low('a derivation attribute that nix develop exports; nix itself does not read it')
  }
  if (SHELL_BOOKKEEPING.has(name)) return low('shell bookkeeping')
  return low('nix does not read it; it matters only to the tools that do')
}

const RANK: Record<Likelihood, number> = { high: 0, medium: 1, low: 2 }

/** Most likely first; within a level the facts (.drv, nix, settings) before variables; by name. */
export function byLikelihood(a: EnvDifference, b: EnvDifference): number {
  const pseudo = Number(isPseudoVariable(b.name)) - Number(isPseudoVariable(a.name))
  return (
    RANK[a.likelihood] - RANK[b.likelihood] ||
    pseudo ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  )
}

export interface DiffOptions {
  image?: string
  /** The `nix develop` installable, for the verdicts ("<flake>#<devshell>"). */
  installable?: string
  keyNames?: string[]
  /** Where the action's builds run (setup's NixInstallation.storeMode); else the host capture's. */
  storeMode?: StoreFacts['mode']
}

/**
 * Where the compared builds run: in-process when either context builds in-process (its TMPDIR then
 * holds the build directory), else the action's mode.
 */
export function comparedStoreMode(
  host: ContextCapture,
  devshell: ContextCapture,
  storeMode: StoreFacts['mode'] = host.store.mode
): StoreFacts['mode'] {
  const devshellInProcess = devshell.ok && devshell.store.mode === 'in-process'
  return devshellInProcess ? 'in-process' : storeMode
}

/**
 * Every variable added, removed or changed by the devshell, and every other fact that differs
 * (as pseudo-variables, see factDifferences), sorted most likely to matter first, and the verdicts. Pass redacted captures: values are copied into the result as they are.
 */
export function diffEnvironments(
  host: ContextCapture,
  devshell: ContextCapture,
  options: DiffOptions = {}
): { verdicts: string[]; differences: EnvDifference[] } {
  const pathNix = {
    differs: (host.nix.onPathRealPath ?? null) !== (devshell.nix.onPathRealPath ?? null),
    host: host.nix.onPath,
    devshell: devshell.nix.onPath
  }
  const storeMode = comparedStoreMode(host, devshell, options.storeMode)
  const names = new Set([...Object.keys(host.env), ...Object.keys(devshell.env)])
  const differences: EnvDifference[] = []
  for (const name of names) {
    const a = host.env[name]
    const b = devshell.env[name]
    if (a === b) continue
    const kind = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed'
    const { likelihood, reason } = classifyVariable(name, {
      keyNames: options.keyNames,
      pathNix,
      storeMode
    })
    differences.push({ name, kind, host: a, devshell: b, likelihood, reason })
  }
  differences.push(...factDifferences(host, devshell))
  differences.sort(byLikelihood)
  const verdicts = verdictsFor(host, devshell, differences, options)
  return { verdicts, differences }
}

/** A capture without its variables: what env/diff.json and the report keep. */
export function contextFacts(capture: ContextCapture): ContextFacts {
  const { env, ...facts } = capture
  return { ...facts, variables: Object.keys(env).length }
}

/** How `store`, NIX_REMOTE, the socket and the uid decide where builds run (Nix's `auto`). */
export function storeMode(facts: Omit<StoreFacts, 'mode'>): StoreFacts['mode'] {
  const store = facts.store ?? facts.nixRemote ?? 'auto'
  if (store === '' || store === 'auto') {
    if (facts.stateDirWritable) return 'in-process'
    return facts.daemonSocket ? 'daemon' : 'in-process'
  }
  if (store === 'daemon' || store.startsWith('unix://')) return 'daemon'
  if (store === 'local' || store.startsWith('/') || store.startsWith('local?')) return 'in-process'
  return 'remote'
}
