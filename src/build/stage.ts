// The build stage: evaluate the image's .drv, then `nix build` it with structured events, keeping
// every event and a human-readable log on disk as they arrive, and explaining any failure by the
// derivations whose own builder failed. On success, the ISO inside the output.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CappedFile, CAPS } from '../shared/bounds.js'
import type { StageContext } from '../shared/context.js'
import type { BuildResult, NixInstallation } from '../model/index.js'
import { run, type RunResult } from '../shared/process.js'
import { collectFailureLogs } from './diagnostics.js'
import { buildArguments, nixCommand, parseOutPath, type BuildRequest } from './request.js'

export { buildArguments, nixCommand, parseOutPath, type BuildRequest } from './request.js'
import { buildNeeds, checkDisk } from '../shared/disk.js'
import { findIso } from './iso-output.js'
import { buildPlaces, failedOn } from './build-places.js'
import { BuildEvents } from './events.js'
import {
  findMachineFailure,
  machineFailureMessage,
  type MachineFailure
} from './machine-failures.js'
import { findRootFailures, type ParsedFailure } from './failures.js'
import { nixError, stripAnsi } from '../shared/nix-error.js'
import { judgeNixFailure } from './verdict.js'
import { nixShellDirs, removeNewShellDirs, shellTempParent } from './shell-dirs.js'
import { allowedEnv } from '../shared/child-env.js'

export { nixShellDirs, removeNewShellDirs, shellTempParent } from './shell-dirs.js'

/** At most one progress line this often (plus one per derivation started or finished). */
const PROGRESS_INTERVAL_MS = 5_000

/**
 * Appends lines to a file as they come, redacted, up to CAPS.buildStreamBytes (then a note says
 * where it was cut); close() waits until all is on disk.
 */
class AppendFile {
  private readonly file: CappedFile
  constructor(
    path: string,
    private readonly redact: (text: string) => string
  ) {
    this.file = new CappedFile(path, CAPS.buildStreamBytes, 'a')
  }
  write(line: string): void {
    this.file.write(this.redact(line) + '\n')
  }
  close(): Promise<void> {
    return this.file.close()
  }
}

/** The environment every nix call of this request runs with. */
function buildEnv(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Record<string, string> {
  return allowedEnv(ctx, nix.env, request.env)
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
  const env = buildEnv(nix, request, ctx)
  const evaluation = await runNix(nix, request, evalArgs, env, ctx.signal)
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
  const parent = shellTempParent(buildEnv(nix, request, ctx))
  const before = await nixShellDirs(parent)
  try {
    return await buildInContext(nix, request, ctx)
  } finally {
    const removed = await removeNewShellDirs(parent, before)
    if (removed.length) ctx.log.debug(`removed what nix develop left: ${removed.join(', ')}`)
  }
}

/** What a build came to: the BuildResult without its context and duration. */
type Outcome = Partial<BuildResult> & Pick<BuildResult, 'status'>

async function buildInContext(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Promise<BuildResult> {
  const started = Date.now()
  const outcome = await buildOutcome(nix, request, ctx)
  return {
    context: request.context,
    failures: [],
    dependents: [],
    ...outcome,
    durationMs: Date.now() - started
  }
}

async function buildOutcome(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Promise<Outcome> {
  const redact = (text: string): string => ctx.secrets.redact(text)
  await mkdir(request.dir, { recursive: true })
  const evaluation = request.drvPath
    ? { drvPath: request.drvPath }
    : await evaluateDrvPath(nix, request, ctx)
  if (!evaluation.drvPath) {
    const machine = findMachineFailure(evaluation.error ?? '')
    if (machine) return machineFailed(machine, undefined, request, ctx)
    const error = redact(evaluation.error ?? 'nix eval failed')
    ctx.log.error(error, { title: `evaluation of ${request.image} failed` })
    return { status: 'eval-failed', error }
  }
  const drvPath = evaluation.drvPath
  ctx.log.info(`${request.image} (${request.context}): ${drvPath}`)

  const { build, events } = await runBuild(nix, request, ctx)
  if (build.startError) {
    return { status: 'build-failed', drvPath, error: redact(build.startError) }
  }
  if (build.exitCode !== 0) return explainFailure(nix, request, drvPath, build, events, ctx)

  const outPath = parseOutPath(build.stdout, nix.capabilities.printOutPaths)
  if (!outPath) {
    const error = `nix build succeeded but printed no output path: ${redact(build.stdout.trim())}`
    return { status: 'build-failed', drvPath, error }
  }
  const iso = await findIso(outPath)
  if (!iso.isoPath) {
    ctx.log.error(redact(iso.error ?? ''), { title: `no ISO in ${request.image}` })
    return { status: 'build-failed', drvPath, outPath, error: redact(iso.error ?? '') }
  }
  const built = [...events.builds.keys()]
  const { built: builtOn, substituted } = buildPlaces(events.activities.values())
  return { status: 'passed', drvPath, outPath, isoPath: iso.isoPath, built, builtOn, substituted }
}

/** No builder failed, and Nix's error is the machine's (no pty, no daemon, no disk): say so. */
function machineFailed(
  machine: MachineFailure,
  drvPath: string | undefined,
  request: BuildRequest,
  ctx: StageContext
): Outcome {
  const error = ctx.secrets.redact(machineFailureMessage(machine))
  ctx.log.error(error, { title: `this machine could not build ${request.image}` })
  return { status: 'build-failed', drvPath, error }
}

/** `nix build` with its events kept (events.jsonl), a human log (build.log) and progress lines. */
async function runBuild(
  nix: NixInstallation,
  request: BuildRequest,
  ctx: StageContext
): Promise<{ build: RunResult; events: BuildEvents }> {
  const redact = (text: string): string => ctx.secrets.redact(text)
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
    ctx.log.echo('nix', redact(line))
  }
  const onLine = (line: string): void => {
    const outcome = events.push(line)
    if (outcome.event) eventsFile.write(line.slice(line.indexOf('{')))
    for (const human of outcome.human) humanLog.write(human)
    if (outcome.error) ctx.log.echo('nix', redact(outcome.error.text))
    progress(Boolean(outcome.started || outcome.finished))
  }
  const env = buildEnv(nix, request, ctx)
  const build = await runNix(nix, request, buildArgs, env, ctx.signal, onLine)
  await Promise.all([eventsFile.close(), humanLog.close()])
  return { build, events }
}

/** A failed `nix build`: the derivations whose own builder failed, else Nix's own words. */
async function explainFailure(
  nix: NixInstallation,
  request: BuildRequest,
  drvPath: string,
  build: RunResult,
  events: BuildEvents,
  ctx: StageContext
): Promise<Outcome> {
  const errorText = [events.errorText(), ...events.plainLines].join('\n')
  const roots = new Map<string, ParsedFailure>()
  for (const error of events.errors)
    for (const failure of findRootFailures(error.text, error.activeBuild))
      if (!roots.has(failure.drv)) roots.set(failure.drv, failure)
  for (const failure of findRootFailures(events.plainLines.join('\n')))
    if (!roots.has(failure.drv)) roots.set(failure.drv, failure)
  const error = ctx.secrets.redact(
    nixError(errorText) || `nix build exited with code ${build.exitCode}`
  )
  // Once a derivation started building (or the job was cancelled), it is not the evaluator's.
  const verdict = judgeNixFailure(errorText, [...roots.values()], {
    startedBuilding: events.builds.size > 0,
    cancelled: ctx.signal.aborted
  })
  if (verdict.kind === 'machine') return machineFailed(verdict.failure, drvPath, request, ctx)
  if (verdict.kind === 'evaluation') return { status: 'eval-failed', drvPath, error }
  const dependents = verdict.dependents
  // Where each build ran, failed ones included: a failure on a remote builder is named with it.
  const { built: builtOn, substituted } = buildPlaces(events.activities.values())
  const where = { builtOn, substituted }
  const blamed = [...roots.values()].map(root => {
    const machine = failedOn(root, builtOn)
    return machine ? { ...root, machine } : root
  })
  const failures = await collectFailureLogs(nix, blamed, events, request.dir, ctx)
  if (failures.length) return { status: 'build-failed', drvPath, failures, dependents, ...where }
  // Nothing to blame: Nix's own words are all there is (and the whole stderr is in build.log).
  ctx.log.error(error, { title: `build of ${request.image} failed` })
  return { status: 'build-failed', drvPath, error, dependents, ...where }
}

function runNix(
  nix: NixInstallation,
  request: BuildRequest,
  args: string[],
  env: Record<string, string>,
  signal: AbortSignal,
  onStderrLine?: (line: string) => void
): Promise<RunResult> {
  let command: { command: string; args: string[] }
  try {
    command = nixCommand(nix, request, args)
  } catch (error) {
    const startError = error instanceof Error ? error.message : String(error)
    const notRun = { exitCode: null, stdout: '', stderr: '', timedOut: false, aborted: false }
    return Promise.resolve({ ...notRun, startError })
  }
  return run(command.command, command.args, { env, signal, onStderrLine })
}
