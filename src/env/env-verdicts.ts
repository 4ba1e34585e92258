// Pure: where a build's directory lands in a context, how much room that leaves for unix socket
// paths, and the plain-language verdicts of the environment diff.
import type { EnvDifference } from '../model/index.js'
import { isPseudoVariable } from './env-facts.js'
import type { ContextCapture, StoreFacts, TmpdirFacts } from './types.js'

export { factDifferences, isPseudoVariable } from './env-facts.js'

/** sun_path on Linux: 108 bytes, the terminating NUL included (104 on macOS). */
export const SUN_PATH_MAX = 108

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8')

/**
 * Bytes left for a socket's path below `dir` (its name, and any subdirectories a test framework
 * adds): SUN_PATH_MAX - 1 (the NUL) - bytes of "<dir>/". Negative: the directory alone is too long.
 */
export function socketHeadroom(dir: string): number {
  return SUN_PATH_MAX - 1 - byteLength(dir.replace(/\/+$/, '') + '/')
}

export function versionAtLeast(version: string | null, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '')
  if (!match) return false
  const [a, b] = [Number(match[1]), Number(match[2])]
  return a > major || (a === major && b >= minor)
}

/** "/nix/store/<hash>-<name>.drv" → "<name>.drv" (what Nix names the build directory after). */
export function drvName(drvPath: string): string {
  const base = drvPath.slice(drvPath.lastIndexOf('/') + 1)
  return /^[0-9a-z]{32}-/.test(base) ? base.slice(33) : base
}

export type BuildDirFacts = Pick<
  TmpdirFacts,
  'buildDir' | 'builderDir' | 'socketHeadroom' | 'buildDirNote'
>

/**
 * Where an in-process build of `drvName` gets its directory: `<base>/nix-build-<drvName>-0`, where
 * base is the `build-dir` setting when set, else <state dir>/builds from Nix 2.30, else the
 * caller's TMPDIR (NixOS/nix#10753). A daemon builds under its own TMPDIR, which this context does
 * not reach. The sandbox shows the directory to the builder as `sandbox-build-dir` (/build).
 * The "-0" counter is the first free one; newer Nix versions may use another suffix of this size.
 */
export function plannedBuildDir(input: {
  tmpdir: string
  version: string | null
  mode: StoreFacts['mode']
  settings: Record<string, string>
  drvName: string
}): BuildDirFacts {
  const { settings, mode } = input
  if (mode !== 'in-process') {
    const note =
      mode === 'daemon'
        ? "builds run in the daemon, under the daemon's own TMPDIR or build-dir: this context's TMPDIR does not reach them"
        : 'builds run on another store'
    return { buildDir: null, builderDir: null, socketHeadroom: null, buildDirNote: note }
  }
  let base: string
  let why: string
  if (settings['build-dir']) {
    base = settings['build-dir']
    why = 'the build-dir setting'
  } else if (versionAtLeast(input.version, 2, 30)) {
    base = '/nix/var/nix/builds'
    why = 'Nix 2.30+ builds under the state dir'
  } else {
    base = input.tmpdir
    why = `Nix ${input.version ?? '< 2.30'} builds in-process under TMPDIR`
  }
  const buildDir = `${base.replace(/\/+$/, '')}/nix-build-${input.drvName}-0`
  const sandboxed = settings.sandbox === 'true' || settings.sandbox === 'relaxed'
  const builderDir = sandboxed ? settings['sandbox-build-dir'] || '/build' : buildDir
  const note = sandboxed ? `${why}; the sandbox shows it to the builder as ${builderDir}` : why
  return { buildDir, builderDir, socketHeadroom: socketHeadroom(builderDir), buildDirNote: note }
}

// ---- verdicts ----------------------------------------------------------------------------------

interface Verdict {
  weight: number
  text: string
}

const SETTING_WEIGHT: Record<string, number> = {
  store: 62,
  sandbox: 60,
  'build-dir': 60,
  'experimental-features': 58,
  'build-users-group': 52,
  substituters: 50
}

const firstLine = (text: string | undefined) => (text ?? '').split('\n')[0].slice(0, 300)

function describeDrv(c: ContextCapture): string {
  return c.drvPath ?? `no .drv (${firstLine(c.evalError) || 'not evaluated'})`
}

function drvVerdicts(host: ContextCapture, dev: ContextCapture, image: string, keyNames: string[]) {
  const out: Verdict[] = []
  const keyChanged = keyNames.filter(k => host.env[k] !== dev.env[k])
  if (host.drvPath && dev.drvPath) {
    if (host.drvPath === dev.drvPath) {
      out.push({ weight: 10, text: `same .drv in both contexts: ${host.drvPath}` })
    } else {
      const why = keyChanged.length ? `; ${keyChanged.join(', ')} differs between them` : ''
      out.push({
        weight: 90,
        text: `the devshell evaluates ${image} to a different .drv (host: ${host.drvPath}, devshell: ${dev.drvPath})${why}`
      })
    }
  } else if (dev.ok && !dev.drvPath && host.drvPath) {
    const text = `${image} does not evaluate in the devshell: ${firstLine(dev.evalError)}`
    out.push({ weight: 92, text })
  } else if (!host.drvPath && dev.drvPath) {
    const text = `${image} does not evaluate on the host (${firstLine(host.evalError)}), but does in the devshell: ${dev.drvPath}`
    out.push({ weight: 90, text })
  } else if (!dev.ok) {
    const text = host.drvPath
      ? `the host evaluates ${image} to ${host.drvPath}`
      : `${image} does not evaluate on the host: ${firstLine(host.evalError)}`
    out.push({ weight: host.drvPath ? 10 : 70, text })
  } else {
    out.push({ weight: 70, text: `${image} evaluates in neither context: ${describeDrv(host)}` })
  }
  return out
}

const mib = (bytes: number) => `${Math.floor(bytes / 2 ** 20)} MiB`

function tmpdirVerdicts(host: TmpdirFacts, dev: TmpdirFacts): Verdict[] {
  const out: Verdict[] = []
  if (!dev.exists || !dev.writable) {
    const state = dev.exists ? 'is not writable' : 'does not exist'
    out.push({ weight: 88, text: `the devshell's TMPDIR ${dev.path} ${state}` })
  }
  const n = dev.socketHeadroom
  const m = host.socketHeadroom
  if (n !== null && dev.builderDir) {
    const where =
      dev.buildDir && dev.buildDir.startsWith(dev.path.replace(/\/+$/, '') + '/')
        ? `in-process under ${dev.path.replace(/\/+$/, '')}/`
        : `in ${dev.builderDir}/`
    const room =
      n < 0
        ? `already ${-n} bytes over the unix socket path limit`
        : `leaving ${n} bytes for socket paths`
    const text = `builds in the devshell run ${where}, ${room} (host: ${m ?? 'n/a, daemon'})`
    const weight = m !== null && n < m ? (n < 40 ? 86 : 64) : 30
    out.push({ weight, text })
  } else {
    out.push({
      weight: 25,
      text: `builds in the devshell do not run under its TMPDIR: ${dev.buildDirNote}`
    })
  }
  if (dev.freeBytes !== null && dev.freeBytes < 2 ** 30 && dev.buildDir) {
    out.push({
      weight: 50,
      text: `only ${mib(dev.freeBytes)} free under the devshell's TMPDIR ${dev.path}`
    })
  }
  return out
}

function nixVerdicts(host: ContextCapture, dev: ContextCapture): Verdict[] {
  const out: Verdict[] = []
  const [h, d] = [host.nix, dev.nix]
  if (!d.onPath) {
    const text = `the devshell has no nix on its PATH: a harness that runs \`nix\` inside it fails`
    out.push({ weight: 85, text })
  }
  if (h.version && d.version && h.version !== d.version) {
    const text = `the devshell's nix is ${d.version} (${d.path}), the host's is ${h.version} (${h.path})`
    out.push({ weight: 80, text })
  } else if (h.realPath !== d.realPath) {
    const text = `the devshell runs another nix binary (${d.path}) than the host (${h.path}), both ${h.version ?? 'of unknown version'}`
    out.push({ weight: 45, text })
  } else if (d.onPath) {
    out.push({ weight: 5, text: `same nix in both contexts: ${h.version ?? '?'} (${h.path})` })
  }
  if (d.error)
    out.push({ weight: 40, text: `the devshell's nix did not run: ${firstLine(d.error)}` })
  if (host.store.mode !== dev.store.mode) {
    const text = `builds in the devshell go ${dev.store.mode === 'daemon' ? 'through the daemon' : dev.store.mode}, on the host ${host.store.mode === 'daemon' ? 'through the daemon' : host.store.mode}`
    out.push({ weight: 75, text })
  }
  for (const [c, label] of [
    [host, 'host'],
    [dev, 'devshell']
  ] as const) {
    if (c.settingsError) {
      out.push({
        weight: 20,
        text: `the ${label}'s nix configuration could not be read: ${firstLine(c.settingsError)}`
      })
    }
  }
  const keys = new Set([...Object.keys(host.settings), ...Object.keys(dev.settings)])
  for (const key of [...keys].sort()) {
    const [a, b] = [host.settings[key], dev.settings[key]]
    if (a === b || host.settingsError || dev.settingsError) continue
    const text = `the devshell's nix has ${key} = ${b ?? '(unset)'} (host: ${a ?? '(unset)'})`
    out.push({ weight: SETTING_WEIGHT[key] ?? 48, text })
  }
  return out
}

const SKIP_AS_VARIABLE = new Set(['TMPDIR', 'TMP', 'TEMP', 'TEMPDIR', 'NIX_BUILD_TOP', 'PATH'])
const VARIABLE_WEIGHT: Record<string, number> = {
  NIX_CONFIG: 56,
  NIX_REMOTE: 56,
  SSL_CERT_FILE: 54
}

export function verdictsFor(
  host: ContextCapture,
  dev: ContextCapture,
  differences: EnvDifference[],
  options: { image?: string; installable?: string; keyNames?: string[] }
): string[] {
  const image = options.image ?? 'the image'
  const keyNames = options.keyNames ?? []
  const out: Verdict[] = []
  const variables = differences.filter(d => !isPseudoVariable(d.name))
  if (!dev.ok) {
    const what = options.installable ? `\`nix develop ${options.installable}\`` : 'nix develop'
    out.push({ weight: 100, text: `${what} failed: ${firstLine(dev.error)}` })
  }
  out.push(...drvVerdicts(host, dev, image, keyNames))
  if (dev.ok) {
    out.push(...tmpdirVerdicts(host.tmpdir, dev.tmpdir))
    out.push(...nixVerdicts(host, dev))
  }
  for (const d of variables) {
    if (d.likelihood !== 'high' || SKIP_AS_VARIABLE.has(d.name)) continue
    if (keyNames.includes(d.name) && host.drvPath !== dev.drvPath) continue
    const verb = d.kind === 'added' ? 'sets' : d.kind === 'removed' ? 'unsets' : 'changes'
    out.push({
      weight: VARIABLE_WEIGHT[d.name] ?? 42,
      text: `the devshell ${verb} ${d.name}: ${d.reason}`
    })
  }
  if (variables.length) {
    const count = (l: string) => variables.filter(d => d.likelihood === l).length
    const text = `${variables.length} variables differ: ${count('high')} likely to change a build, ${count('medium')} possibly, ${count('low')} unlikely`
    out.push({ weight: 8, text })
  }
  return out.sort((a, b) => b.weight - a.weight).map(v => v.text)
}
