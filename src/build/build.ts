// The build stage: evaluate the image's .drv, then `nix build` it with structured events, keeping
// every event and a human-readable log on disk as they arrive, and explaining any failure by the
// derivations whose own builder failed. On success, the ISO inside the output.
import { createWriteStream, type WriteStream } from 'node:fs'
import { lstat, mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { StageContext } from '../context.js'
import type { BuildContext, BuildResult, NixInstallation } from '../model.js'
import { run, stringEnv, type RunResult } from '../process.js'
import { collectFailureLogs } from './diagnostics.js'
import { buildNeeds, checkDisk } from '../disk.js'
import { BuildEvents } from './events.js'
import {
  findMachineFailure,
  machineFailureMessage,
  type MachineFailure
} from './machine-failures.js'
import {
  findDependents,
  findRootFailures,
  isEvaluationError,
  stripAnsi,
  type ParsedFailure
} from './failures.js'

export interface BuildRequest {
  flake: string
  image: string
  context: BuildContext
  /** run inside `nix develop <flake>#<devshell> -c` when context is 'devshell' */
  devshell?: string
  /** env additions e.g. { PRE_NIXOS_ROOT_KEY: '/path/key.pub' } */
  env: Record<string, string>
  /** absolute report subdirectory for this build, e.g. <report>/build */
  dir: string
  system?: string
  /** Already evaluated in this context (by the cache restore): the build skips `nix eval`. */
  drvPath?: string
}

/** At most one progress line this often (plus one per derivation started or finished). */
const PROGRESS_INTERVAL_MS = 5_000

/** The command and arguments that run `nix <args>` in the request's context. */
export function nixCommand(
  nix: NixInstallation,
  request: BuildRequest,
  args: string[]
): { command: string; args: string[] } {
  if (request.context !== 'devshell') return { command: nix.nixPath, args }
  if (!request.devshell) throw new Error('a devshell build needs the devshell attribute')
  const shell = `${request.flake}#${request.devshell}`
  return { command: nix.nixPath, args: ['develop', shell, '-c', nix.nixPath, ...args] }
}

/** `nix build` arguments: events on stderr, out paths on stdout in the form this Nix knows. */
export function buildArguments(nix: NixInstallation, request: BuildRequest): string[] {
  const args = [
    'build',
    `${request.flake}#${request.image}`,
    '--impure',
    '--no-link',
    '-L',
    '--keep-going',
    '--log-format',
    'internal-json',
    nix.capabilities.printOutPaths ? '--print-out-paths' : '--json'
  ]
  if (request.system) args.push('--system', request.system)
  return args
}

/** The out path from `--print-out-paths` lines or `--json` (`[{"drvPath","outputs":{"out"}}]`). */
export function parseOutPath(stdout: string, printOutPaths: boolean): string | undefined {
  if (printOutPaths)
    return stdout
      .split('\n')
      .find(line => line.trim().startsWith('/'))
      ?.trim()
  try {
    const built = JSON.parse(stdout) as { outputs?: Record<string, string> }[]
    const outputs = built[0]?.outputs ?? {}
    return outputs.out ?? Object.values(outputs)[0]
  } catch {
    return undefined
  }
}

/** Nix's error, from its first `error:` line on (warnings before it dropped). */
export function nixError(stderr: string): string {
  const lines = stripAnsi(stderr).replace(/\r/g, '').trimEnd().split('\n')
  const first = lines.findIndex(line => line.startsWith('error:'))
  return (first < 0 ? lines : lines.slice(first)).join('\n').trim()
}

/** Appends lines to a file as they come, redacted; close() waits until all is on disk. */
class AppendFile {
  private readonly stream: WriteStream
  constructor(
    path: string,
    private readonly redact: (text: string) => string
  ) {
    this.stream = createWriteStream(path, { flags: 'a' })
    this.stream.on('error', () => undefined)
  }
  write(line: string): void {
    this.stream.write(this.redact(line) + '\n')
  }
  close(): Promise<void> {
    return new Promise(resolve => this.stream.end(() => resolve()))
  }
}

/** The ISO in <out>/iso, or an error naming what the output holds instead. */
async function findIso(outPath: string): Promise<{ isoPath?: string; error?: string }> {
  const isoDir = join(outPath, 'iso')
  const entries = await readdir(isoDir).catch(() => undefined)
  const isos = (entries ?? []).filter(name => name.endsWith('.iso'))
  if (isos.length === 1) return { isoPath: join(isoDir, isos[0]) }
  if (isos.length > 1) {
    return { error: `several ISOs in ${isoDir}: ${isos.join(', ')}; expected exactly one` }
  }
  const found = await listing(outPath)
  return {
    error: `no ISO in the build output: expected ${isoDir}/*.iso, but ${outPath} holds ${found}`
  }
}

async function listing(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined)
  if (!info) return 'nothing (it does not exist)'
  if (!info.isDirectory()) return 'a single file, not a directory'
  const names: string[] = []
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (!entry.isDirectory()) names.push(entry.name)
    else {
      const inner = await readdir(join(path, entry.name)).catch(() => [])
      names.push(
        ...(inner.length ? inner.map(name => `${entry.name}/${name}`) : [`${entry.name}/`])
      )
    }
  }
  const shown = names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '')
  return names.length ? shown : 'nothing (an empty directory)'
}

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

/** The environment every nix call of this request runs with. */
function buildEnv(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Record<string, string> {
  return { ...stringEnv(ctx.env), ...nix.env, ...request.env }
}

/**
 * `nix eval --raw --impure <flake>#<image>.drvPath` in the request's context, its stderr in
 * <dir>/eval.log. Evaluating first is cheap, names the .drv (which differs between contexts when
 * --impure evaluation sees other values), and tells an evaluation error from a build failure.
 */
export async function evaluateDrvPath(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Promise<{ drvPath?: string; error?: string }> {
  await mkdir(request.dir, { recursive: true })
  const evalArgs = ['eval', '--raw', '--impure', `${request.flake}#${request.image}.drvPath`]
  const evaluation = await runNix(nix, request, evalArgs, buildEnv(nix, request, ctx))
  const evalLog = new AppendFile(join(request.dir, 'eval.log'), text => ctx.secrets.redact(text))
  evalLog.write(stripAnsi(evaluation.stderr).trimEnd())
  await evalLog.close()
  if (evaluation.exitCode !== 0) {
    return { error: evaluation.startError ?? (nixError(evaluation.stderr) || 'nix eval failed') }
  }
  return { drvPath: evaluation.stdout.trim() }
}

export async function buildImage(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Promise<BuildResult> {
  // A short disk is said up front (and the build still tried) rather than found half-way.
  const diskWarning = await checkDisk(buildNeeds(ctx.env), `building ${request.image}`)
  if (diskWarning) ctx.log.warning(diskWarning, { title: 'Low disk space' })
  const result = await buildAndCleanShellDirs(nix, request, ctx)
  return diskWarning ? { ...result, diskWarning } : result
}

async function buildAndCleanShellDirs(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Promise<BuildResult> {
  if (request.context !== 'devshell') return buildInContext(nix, request, ctx)
  const parent = shellTempParent({ ...stringEnv(ctx.env), ...nix.env, ...request.env })
  const before = await nixShellDirs(parent)
  try {
    return await buildInContext(nix, request, ctx)
  } finally {
    const removed = await removeNewShellDirs(parent, before)
    if (removed.length) ctx.log.debug(`removed what nix develop left: ${removed.join(', ')}`)
  }
}

async function buildInContext(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Promise<BuildResult> {
  const started = Date.now()
  const redact = (text: string): string => ctx.secrets.redact(text)
  const result = (fields: Partial<BuildResult> & Pick<BuildResult, 'status'>): BuildResult => ({
    context: request.context,
    failures: [],
    dependents: [],
    ...fields,
    durationMs: Date.now() - started
  })
  const machineFailed = (machine: MachineFailure, drvPath: string | undefined): BuildResult => {
    const error = redact(machineFailureMessage(machine))
    ctx.log.error(error, { title: `this machine could not build ${request.image}` })
    return result({ status: 'build-failed', drvPath, error })
  }
  await mkdir(request.dir, { recursive: true })
  const env = buildEnv(nix, request, ctx)

  const evaluation = request.drvPath
    ? { drvPath: request.drvPath }
    : await evaluateDrvPath(nix, request, ctx)
  if (!evaluation.drvPath) {
    const machine = findMachineFailure(evaluation.error ?? '')
    if (machine) return machineFailed(machine, undefined)
    const error = redact(evaluation.error ?? 'nix eval failed')
    ctx.log.error(error, { title: `evaluation of ${request.image} failed` })
    return result({ status: 'eval-failed', error })
  }
  const drvPath = evaluation.drvPath
  ctx.log.info(`${request.image} (${request.context}): ${drvPath}`)

  const events = new BuildEvents()
  const eventsFile = new AppendFile(join(request.dir, 'events.jsonl'), redact)
  const humanLog = new AppendFile(join(request.dir, 'build.log'), redact)
  const buildArgs = buildArguments(nix, request)
  const where = request.context === 'devshell' ? ` (in nix develop ${request.devshell})` : ''
  humanLog.write(`$ ${nix.nixPath} ${buildArgs.join(' ')}${where}`)
  let lastProgress = 0
  let lastLine = ''
  const progress = (force: boolean): void => {
    const now = Date.now()
    const line = events.progressLine()
    const idle = !force && (line === lastLine || line.startsWith('[0/0 built]'))
    if (idle || (!force && now - lastProgress < PROGRESS_INTERVAL_MS)) return
    lastProgress = now
    lastLine = line
    ctx.log.info(redact(line))
  }
  const onLine = (line: string): void => {
    const outcome = events.push(line)
    if (outcome.event) eventsFile.write(line.slice(line.indexOf('{')))
    for (const human of outcome.human) humanLog.write(human)
    if (outcome.error) ctx.log.info(redact(outcome.error.text))
    progress(Boolean(outcome.started || outcome.finished))
  }
  const build = await runNix(nix, request, buildArgs, env, onLine)
  await Promise.all([eventsFile.close(), humanLog.close()])
  if (build.startError) {
    return result({ status: 'build-failed', drvPath, error: redact(build.startError) })
  }

  if (build.exitCode !== 0) {
    const errorText = [events.errorText(), ...events.plainLines].join('\n')
    const roots = new Map<string, ParsedFailure>()
    for (const error of events.errors)
      for (const failure of findRootFailures(error.text, error.activeBuild))
        if (!roots.has(failure.drv)) roots.set(failure.drv, failure)
    for (const failure of findRootFailures(events.plainLines.join('\n')))
      if (!roots.has(failure.drv)) roots.set(failure.drv, failure)
    const dependents = findDependents(errorText).filter(drv => !roots.has(drv))
    const error = redact(nixError(errorText) || `nix build exited with code ${build.exitCode}`)
    // No builder failed, and Nix's error is the machine's (no pty, no daemon, no disk): say so.
    const machine = roots.size || ctx.signal.aborted ? undefined : findMachineFailure(errorText)
    if (machine) return machineFailed(machine, drvPath)
    // Once a derivation started building (or the job was cancelled), it is not the evaluator's.
    const startedBuilding = events.builds.size > 0 || ctx.signal.aborted
    if (!roots.size && !startedBuilding && isEvaluationError(errorText)) {
      return result({ status: 'eval-failed', drvPath, error })
    }
    const failures = await collectFailureLogs(nix, [...roots.values()], events, request.dir, ctx)
    if (failures.length) return result({ status: 'build-failed', drvPath, failures, dependents })
    // Nothing to blame: Nix's own words are all there is (and the whole stderr is in build.log).
    ctx.log.error(error, { title: `build of ${request.image} failed` })
    return result({ status: 'build-failed', drvPath, error, dependents })
  }

  const outPath = parseOutPath(build.stdout, nix.capabilities.printOutPaths)
  if (!outPath) {
    const error = `nix build succeeded but printed no output path: ${redact(build.stdout.trim())}`
    return result({ status: 'build-failed', drvPath, error })
  }
  const iso = await findIso(outPath)
  if (!iso.isoPath) {
    ctx.log.error(redact(iso.error ?? ''), { title: `no ISO in ${request.image}` })
    return result({ status: 'build-failed', drvPath, outPath, error: redact(iso.error ?? '') })
  }
  const built = [...events.builds.keys()]
  return result({ status: 'passed', drvPath, outPath, isoPath: iso.isoPath, built })
}

function runNix(
  nix: NixInstallation,
  request: BuildRequest,
  args: string[],
  env: Record<string, string>,
  onStderrLine?: (line: string) => void
): Promise<RunResult> {
  let command: { command: string; args: string[] }
  try {
    command = nixCommand(nix, request, args)
  } catch (error) {
    const startError = error instanceof Error ? error.message : String(error)
    return Promise.resolve({ exitCode: null, stdout: '', stderr: '', startError })
  }
  return run(command.command, command.args, { env, onStderrLine })
}
