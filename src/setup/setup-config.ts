// The action's own Nix configuration: a drop-in file that Nix reads through NIX_USER_CONF_FILES,
// ahead of (and so over) the user's own user configuration files, which still apply. The user's
// nix.conf is never edited. Also the pure helpers that read `nix config show` back.
import { existsSync } from 'node:fs'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errorMessage, run } from '../shared/process.js'
import type { Secrets } from '../shared/secrets.js'

export interface DropInOptions {
  /** Where the files go: <tempDir>/nix. */
  dir: string
  extraNixConf: string[]
  githubToken: string
  /** Add `extra-system-features = kvm` (only when KVM was proved to run a guest). */
  kvm: boolean
  env: NodeJS.ProcessEnv
  secrets: Secrets
}

export interface DropIn {
  confPath: string
  tokenPath?: string
  /** The variables every nix call carries. */
  env: Record<string, string>
  changes: string[]
}

/** The user's own user configuration files, in Nix's order (the first one wins). */
export function userConfFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.NIX_USER_CONF_FILES !== undefined) {
    return env.NIX_USER_CONF_FILES.split(':').filter(Boolean)
  }
  const home = env.HOME ?? ''
  const configHome = env.XDG_CONFIG_HOME || (home ? join(home, '.config') : '')
  const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter(Boolean)
  return [configHome, ...configDirs]
    .filter(Boolean)
    .map(dir => join(dir, 'nix', 'nix.conf'))
    .filter(file => existsSync(file))
}

/** The drop-in's text. Pure. */
export function dropInText(options: {
  extraNixConf: string[]
  kvm: boolean
  tokenPath?: string
}): string {
  const lines = [
    '# Written by boot-image-vm for its own nix calls (through NIX_USER_CONF_FILES).',
    '# Your nix.conf files are not changed and still apply; settings here take precedence.',
    'extra-experimental-features = nix-command flakes'
  ]
  if (options.kvm) lines.push('extra-system-features = kvm')
  if (options.extraNixConf.length) {
    lines.push('# From the extra-nix-conf input:', ...options.extraNixConf)
  }
  if (options.tokenPath) lines.push(`!include ${options.tokenPath}`)
  return lines.join('\n') + '\n'
}

/** Writes the drop-in (and the token file, mode 0600). Writing twice gives the same files. */
export async function writeDropIn(options: DropInOptions): Promise<DropIn> {
  await mkdir(options.dir, { recursive: true, mode: 0o700 })
  const changes: string[] = []
  let tokenPath: string | undefined
  if (options.githubToken) {
    options.secrets.add(options.githubToken)
    tokenPath = join(options.dir, 'access-tokens.conf')
    await writeFile(tokenPath, `access-tokens = github.com=${options.githubToken}\n`, {
      mode: 0o600
    })
    await chmod(tokenPath, 0o600)
    changes.push(`wrote the GitHub access token to ${tokenPath} (mode 0600; post deletes it)`)
  }
  const confPath = join(options.dir, 'nix.conf')
  await writeFile(
    confPath,
    dropInText({ extraNixConf: options.extraNixConf, kvm: options.kvm, tokenPath })
  )
  const files = [confPath, ...userConfFiles(options.env).filter(file => file !== confPath)]
  const env = { NIX_USER_CONF_FILES: files.join(':') }
  changes.push(
    `wrote the action's Nix configuration ${confPath}` +
      ` (nix-command flakes${options.kvm ? ', system feature kvm' : ''}` +
      `${options.extraNixConf.length ? `, ${options.extraNixConf.length} extra-nix-conf line(s)` : ''})`,
    `set NIX_USER_CONF_FILES=${env.NIX_USER_CONF_FILES} for every nix call and later steps`
  )
  return { confPath, tokenPath, env, changes }
}

// ---- reading `nix config show` back (pure) -------------------------------------------------------

export type ConfigJson = Record<string, { value?: unknown; defaultValue?: unknown } & object>

/** Parses the `name = value` lines of `nix config show` without --json. */
export function parseConfigText(text: string): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9-]+) = ?(.*)$/.exec(line.trimEnd())
    if (match) settings[match[1]] = match[2]
  }
  return settings
}

/**
 * The experimental features as names. Some builds print them as numbers in JSON (Nix 2.8 as
 * packaged by Debian, Lix 2.92.0): then the text form (`textValue`) decides.
 */
export function experimentalFeatures(config: ConfigJson, textValue?: string): string[] | undefined {
  const value = config['experimental-features']?.value
  if (Array.isArray(value) && value.every(item => typeof item === 'string')) return value
  if (textValue !== undefined) return textValue.split(/\s+/).filter(Boolean)
  return undefined
}

/** Replaces every access token (and any known secret) in the configuration. Pure. */
export function redactConfig(config: ConfigJson, secrets: Secrets): ConfigJson {
  const copy = JSON.parse(JSON.stringify(config)) as ConfigJson
  const tokens = copy['access-tokens'] as Record<string, unknown> | undefined
  if (tokens) {
    for (const key of ['value', 'defaultValue']) {
      const held = tokens[key]
      if (held && typeof held === 'object') {
        tokens[key] = Object.fromEntries(Object.keys(held).map(host => [host, '***']))
      } else if (typeof held === 'string' && held) {
        tokens[key] = '***'
      }
    }
  }
  return JSON.parse(secrets.redact(JSON.stringify(copy))) as ConfigJson
}

/** Nix's configuration as it takes effect, or why it could not be read. */
export interface EffectiveConfig {
  json?: ConfigJson
  features?: string[]
  error?: string
}

/**
 * Runs `nix <configShow> --json` with the drop-in in effect. The experimental features come back
 * as names, from the text form when the JSON has numbers.
 */
export async function effectiveConfig(
  nixPath: string,
  configShow: string[],
  env: NodeJS.ProcessEnv
): Promise<EffectiveConfig> {
  const result = await run(nixPath, [...configShow, '--json'], { env })
  if (result.exitCode !== 0) {
    return {
      error: `nix ${configShow.join(' ')} --json: ${result.startError ?? result.stderr.trim()}`
    }
  }
  let json: ConfigJson
  try {
    json = JSON.parse(result.stdout) as ConfigJson
  } catch (error) {
    return { error: `nix ${configShow.join(' ')} --json printed no JSON: ${errorMessage(error)}` }
  }
  let features = experimentalFeatures(json)
  if (!features) {
    const text = await run(nixPath, configShow, { env })
    features = experimentalFeatures(json, parseConfigText(text.stdout)['experimental-features'])
    if (features)
      json['experimental-features'] = { ...json['experimental-features'], value: features }
  }
  return { json, features }
}

export type StoreMode = 'daemon' | 'in-process'

/**
 * How nix reaches the store, as Nix decides it: NIX_REMOTE, else the `store` setting, else
 * 'auto', which builds in-process when the state directory (/nix/var/nix) is writable (root,
 * single-user installs) even if a daemon runs, else uses the daemon socket when it exists.
 */
export function storeModeFor(
  store: string,
  stateDirWritable: boolean,
  socketExists: boolean
): { mode: StoreMode; reason: string } {
  const uri = store.trim() || 'auto'
  if (uri === 'daemon' || uri.startsWith('unix://')) {
    return { mode: 'daemon', reason: `store '${uri}' is the daemon` }
  }
  if (
    uri === 'local' ||
    uri.startsWith('/') ||
    uri.startsWith('local?') ||
    uri.startsWith('local://')
  ) {
    return { mode: 'in-process', reason: `store '${uri}' is a local store opened in-process` }
  }
  if (uri !== 'auto') return { mode: 'daemon', reason: `store '${uri}' is a remote store` }
  if (stateDirWritable) {
    return { mode: 'in-process', reason: "store 'auto' and the state directory is writable" }
  }
  if (socketExists) {
    return {
      mode: 'daemon',
      reason: "store 'auto', state directory read-only, daemon socket exists"
    }
  }
  return { mode: 'in-process', reason: "store 'auto' and no daemon socket" }
}
