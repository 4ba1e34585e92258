// Captures the two contexts a build can run in: the action's own (its environment plus the Nix
// installation's variables and the key variable) and `nix develop <flake>#<devshell>`. For each:
// every variable, which nix it runs, that nix's settings, the store mode, TMPDIR, and the .drv it
// evaluates the image to. Spawns: `nix develop -c env -0`, then per context one config read and
// one eval (in parallel, the host's alongside nix develop), plus `--version` for a nix not seen yet.
import { constants } from 'node:fs'
import { access, mkdir, mkdtemp, realpath, rm, stat, statfs } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { NixInstallation } from '../model/index.js'
import { errorMessage, run, stringEnv } from '../shared/process.js'
import { nixReason, parseConfigJson, parseEnv0, storeMode } from './env-diff.js'
import type { ContextCapture, NixIdentity, StoreFacts, TmpdirFacts } from './types.js'
import { capabilitiesFor, parseNixVersion, type NixVersion } from '../setup/index.js'
import { drvName, plannedBuildDir } from './env-verdicts.js'

export interface CaptureRequest {
  flake: string
  image: string
  devshell: string
  /** The variables the flake reads under --impure (the root key's path), set in both contexts. */
  keyEnv: Record<string, string>
}

export interface CaptureOptions {
  /** The environment the action was started with. */
  env: NodeJS.ProcessEnv
  /** Private scratch space; the capture's own temp dir goes here and is deleted. */
  tempDir: string
  cwd?: string
  debug?: (message: string) => void
  /** The stage's abort signal: it ends the capture's nix calls. */
  signal?: AbortSignal
}

/** The first executable `nix` on a PATH, as a shell's `command -v nix` would find it. */
export async function resolveOnPath(path: string | undefined, cwd: string): Promise<string | null> {
  for (const dir of (path ?? '').split(':')) {
    const candidate = resolve(cwd, dir || '.', 'nix')
    try {
      await access(candidate, constants.X_OK)
      if ((await stat(candidate)).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return null
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const realOrSelf = (path: string) => realpath(path).catch(() => path)

const holds = <T>(promise: Promise<T>, test: (value: T) => boolean = () => true) =>
  promise.then(test, () => false)

async function measureDir(path: string, statfsPath = path) {
  const exists = await holds(stat(path), s => s.isDirectory())
  const writable = exists && (await holds(access(path, constants.W_OK)))
  const freeBytes = await statfs(statfsPath).then(
    s => s.bavail * s.bsize,
    () => null
  )
  return { exists, writable, freeBytes }
}

async function storeFacts(env: Record<string, string>, settings: Record<string, string>) {
  const stateDir = env.NIX_STATE_DIR || '/nix/var/nix'
  const socket = env.NIX_DAEMON_SOCKET_PATH || `${stateDir}/daemon-socket/socket`
  const facts: Omit<StoreFacts, 'mode'> = {
    nixRemote: env.NIX_REMOTE ?? null,
    store: settings.store ?? null,
    daemonSocket: await holds(stat(socket), s => s.isSocket()),
    stateDirWritable: await holds(access(stateDir, constants.R_OK | constants.W_OK)),
    uid: process.getuid?.() ?? -1
  }
  return { ...facts, mode: storeMode(facts) }
}

interface Probe {
  env: Record<string, string>
  nix: NixIdentity
  configShow: string[]
  cwd: string
  request: CaptureRequest
  signal?: AbortSignal
}

/** One context's settings and .drv, in parallel. */
async function probeNix(p: Probe) {
  const [config, evaluation] = await Promise.all([
    run(p.nix.path, [...p.configShow, '--json'], { env: p.env, cwd: p.cwd, signal: p.signal }),
    run(
      p.nix.path,
      ['eval', '--raw', '--impure', `${p.request.flake}#${p.request.image}.drvPath`],
      { env: p.env, cwd: p.cwd, signal: p.signal }
    )
  ])
  let settings: Record<string, string> = {}
  let settingsError: string | undefined
  try {
    if (config.exitCode !== 0)
      throw new Error(nixReason(config.stderr, config.startError ?? 'failed'))
    settings = parseConfigJson(config.stdout)
  } catch (error) {
    settingsError = errorMessage(error)
  }
  const drvPath = evaluation.exitCode === 0 ? evaluation.stdout.trim() || null : null
  const evalError =
    evaluation.exitCode === 0
      ? undefined
      : nixReason(evaluation.stderr, evaluation.startError ?? `exit code ${evaluation.exitCode}`)
  return { settings, settingsError, drvPath, evalError }
}

/** `nix --version` by real path: each distinct binary is asked once. */
type Known = Map<string, NixVersion | null>

/** Which nix a context runs, asking `--version` only of a binary not known yet. */
async function identify(
  onPath: string | null,
  fallback: NixInstallation,
  known: Known
): Promise<NixIdentity> {
  const path = onPath ?? fallback.nixPath
  const realPath = await realOrSelf(path)
  const onPathRealPath = onPath ? realPath : null
  let error: string | undefined
  if (!known.has(realPath)) {
    const result = await run(path, ['--version'])
    let parsed: NixVersion | null = null
    try {
      if (result.exitCode !== 0) {
        throw new Error(result.startError ?? nixReason(result.stderr, 'nix --version failed'))
      }
      parsed = parseNixVersion(result.stdout)
    } catch (e) {
      error = errorMessage(e)
    }
    known.set(realPath, parsed)
  }
  const parsed = known.get(realPath) ?? null
  const version = parsed?.version ?? null
  const variant = parsed?.variant ?? null
  return { onPath, onPathRealPath, path, realPath, version, variant, ...(error ? { error } : {}) }
}

export interface Captures {
  host: ContextCapture
  devshell: ContextCapture
}

/**
 * Both contexts. nix develop creates `$TMPDIR/nix-shell.XXXXXX` and never deletes it, so it runs
 * with TMPDIR pointing at a scratch dir under options.tempDir, deleted afterwards. Inside the
 * devshell, every value that starts with the scratch dir is then written back with the user's
 * TMPDIR: what you see is the devshell as it is when you enter it yourself (the real directory
 * is measured while it exists; free space is measured on the user's TMPDIR).
 */
export async function captureContexts(
  nix: NixInstallation,
  request: CaptureRequest,
  options: CaptureOptions
): Promise<Captures> {
  const cwd = options.cwd ?? process.cwd()
  const hostEnv = stringEnv({ ...options.env, ...nix.env, ...request.keyEnv })
  const userTmp = (hostEnv.TMPDIR || '/tmp').replace(/(.)\/+$/, '$1')
  const known: Known = new Map([
    [await realOrSelf(nix.nixPath), { version: nix.version, variant: nix.variant }]
  ])
  await mkdir(options.tempDir, { recursive: true })
  const scratch = await mkdtemp(join(options.tempDir, 'env-capture-'))
  const shared = { cwd, known, signal: options.signal }
  try {
    const [host, devshell] = await Promise.all([
      captureHost(nix, request, { env: hostEnv, ...shared }),
      captureDevshell(nix, request, { hostEnv, scratch, userTmp, debug: options.debug, ...shared })
    ])
    // The build directory is named after the image's derivation: take it from either context.
    const name = drvName(host.drvPath ?? devshell.drvPath ?? `${request.image}.drv`)
    for (const capture of [host, devshell]) {
      // Lix forked from 2.18 and numbers its releases 2.90+: it builds under TMPDIR like 2.18.
      const lix = capture.nix.variant === 'lix'
      const planned = plannedBuildDir({
        tmpdir: capture.tmpdir.realPath,
        version: lix ? '2.18' : capture.nix.version,
        mode: capture.store.mode,
        settings: capture.settings,
        drvName: drvName(capture.drvPath ?? '') || name
      })
      Object.assign(capture.tmpdir, planned)
    }
    return { host, devshell }
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined)
  }
}

const NO_BUILD_DIR = { buildDir: null, builderDir: null, socketHeadroom: null, buildDirNote: '' }

async function captureHost(
  nix: NixInstallation,
  request: CaptureRequest,
  o: { env: Record<string, string>; cwd: string; known: Known; signal?: AbortSignal }
): Promise<ContextCapture> {
  const { env, cwd, known } = o
  const started = Date.now()
  const onPath = await resolveOnPath(env.PATH, cwd)
  const identity = await identify(null, nix, known)
  identity.onPath = onPath
  identity.onPathRealPath = onPath ? await realOrSelf(onPath) : null
  const probe = await probeNix({
    env,
    nix: identity,
    configShow: nix.capabilities.configShow,
    cwd,
    request,
    signal: o.signal
  })
  const tmp = env.TMPDIR || '/tmp'
  const tmpdir: TmpdirFacts = {
    path: tmp,
    set: Boolean(env.TMPDIR),
    bytes: Buffer.byteLength(tmp),
    realPath: await realOrSelf(tmp),
    ...(await measureDir(tmp)),
    ...NO_BUILD_DIR
  }
  const store = await storeFacts(env, probe.settings)
  const durationMs = Date.now() - started
  return { context: 'host', ok: true, env, nix: identity, ...probe, store, tmpdir, durationMs }
}

interface DevshellOptions {
  hostEnv: Record<string, string>
  scratch: string
  userTmp: string
  cwd: string
  known: Known
  debug?: (message: string) => void
  signal?: AbortSignal
}

async function captureDevshell(
  nix: NixInstallation,
  request: CaptureRequest,
  o: DevshellOptions
): Promise<ContextCapture> {
  const started = Date.now()
  const installable = `${request.flake}#${request.devshell}`
  o.debug?.(`nix develop ${installable} -c env -0 (TMPDIR=${o.scratch})`)
  const entered = await run(nix.nixPath, ['develop', installable, '-c', 'env', '-0'], {
    env: { ...o.hostEnv, TMPDIR: o.scratch },
    cwd: o.cwd,
    signal: o.signal
  })
  const realEnv = entered.exitCode === 0 ? parseEnv0(entered.stdout) : {}
  const scratchPrefix = new RegExp(escapeRegExp(o.scratch) + '(?=/|:|$)', 'g')
  const rewrite = (value: string) => value.replace(scratchPrefix, () => o.userTmp)
  const env = Object.fromEntries(Object.entries(realEnv).map(([k, v]) => [k, rewrite(v)]))
  const tmp = env.TMPDIR || '/tmp'
  const realTmp = realEnv.TMPDIR || '/tmp'
  const tmpdir: TmpdirFacts = {
    path: tmp,
    set: Boolean(env.TMPDIR),
    bytes: Buffer.byteLength(tmp),
    // Nix resolves symlinks in TMPDIR: resolve the user's part of the rewritten path.
    realPath:
      tmp === realTmp
        ? await realOrSelf(tmp)
        : (await realOrSelf(o.userTmp)) + tmp.slice(o.userTmp.length),
    ...(await measureDir(realTmp, tmp === realTmp ? realTmp : o.userTmp)),
    ...NO_BUILD_DIR
  }
  if (entered.exitCode !== 0 || !Object.keys(realEnv).length) {
    const error = nixReason(entered.stderr, entered.startError ?? `exit code ${entered.exitCode}`)
    const identity = { ...(await identify(null, nix, o.known)), onPath: null, onPathRealPath: null }
    const store = await storeFacts(o.hostEnv, {})
    const durationMs = Date.now() - started
    return {
      context: 'devshell',
      ok: false,
      error,
      env,
      nix: identity,
      settings: {},
      store,
      tmpdir,
      drvPath: null,
      durationMs
    }
  }
  const identity = await identify(await resolveOnPath(realEnv.PATH, o.cwd), nix, o.known)
  const same = identity.realPath === (await realOrSelf(nix.nixPath))
  const configShow =
    same || !identity.version
      ? nix.capabilities.configShow
      : capabilitiesFor(identity.version, identity.variant ?? 'nix').configShow
  // The real environment, scratch TMPDIR included: the devshell's nix evaluates as it would for you.
  const probe = await probeNix({ env: realEnv, nix: identity, configShow, cwd: o.cwd, request })
  const store = await storeFacts(realEnv, probe.settings)
  const durationMs = Date.now() - started
  return { context: 'devshell', ok: true, env, nix: identity, ...probe, store, tmpdir, durationMs }
}
