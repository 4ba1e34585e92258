// The runner's main step: inputs from the runner, the pipeline, then outputs, the job summary
// and the artifact — on every path, failures included. Hands post what it must clean up.
import { mkdtempSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import type { StageContext } from './shared/context.js'
import { INPUT_DEFAULTS, InputError, parseInputs, type Inputs } from './inputs/index.js'
import type { Report } from './model/index.js'
import { missingPaths, nixStepEnv, type NixStepEnv } from './setup/index.js'
import {
  REAL_STAGES,
  runPipeline,
  type PipelineHooks,
  type PipelineStages
} from './pipeline/index.js'
import { errorMessage, signalChildren } from './shared/process.js'
import {
  deliverReport,
  emptyReport,
  readReport,
  type DeliveryOptions,
  annotate,
  probeOutputReader,
  annotateComparison,
  regressionView,
  actionOutputs,
  uploadIsoArtifact
} from './report/index.js'
import { Secrets } from './shared/secrets.js'
import { actionsRunner, type RunnerPort } from './runner/port.js'
import { STATE } from './runner/state.js'

/**
 * The main step. `runner`: inputs, state, outputs, the job summary, failure, the log and the
 * environment (default: @actions/core's); `stages`: the pipeline's stage entry points.
 */
export async function run(
  runner: RunnerPort = actionsRunner,
  stages: PipelineStages = REAL_STAGES
): Promise<void> {
  const secrets = new Secrets(value => runner.setSecret(value))
  secrets.addFromEnvironment(runner.env)
  const { reportDir, tempDir } = makeRunDirs(runner)
  const signal = cancelOnSignals(runner)
  const inputs = await parseInputsOrReport(runner, reportDir, secrets)
  if (!inputs) return
  secrets.add(inputs.githubToken)
  const { log } = runner
  const ctx: StageContext = { log, secrets, reportDir, tempDir, env: runner.env, signal }
  let report: Report
  try {
    report = await runPipeline(inputs, ctx, handOverToPost(runner), stages)
  } catch (error) {
    // An unexpected crash: still report, upload and fail with the message.
    report = crashReport(reportDir, errorMessage(error))
    log.error(errorMessage(error), { title: 'boot-image-vm crashed' })
  }
  if (!inputs.boot) await shipIso(runner, report, inputs, secrets)
  await compareWithLastGoodRun(runner, report, reportDir, inputs)
  await deliver(runner, report, reportDir, {
    mode: inputs.upload,
    name: inputs.artifactName,
    retentionDays: inputs.retentionDays,
    secrets,
    log
  })
  annotate(report, log, probeOutputReader(reportDir))
  annotateComparison(report.comparison, log)
  failUnlessPassed(runner, report, inputs)
}

/** The report and scratch directories, made; post and the outputs learn where the report is. */
function makeRunDirs(runner: RunnerPort): { reportDir: string; tempDir: string } {
  const base = reportBase(runner)
  const reportDir = join(base, 'report')
  const tempDir = join(base, 'work')
  mkdirSync(reportDir, { recursive: true })
  mkdirSync(tempDir, { recursive: true, mode: 0o700 })
  runner.saveState(STATE.reportDir, reportDir)
  runner.setOutput('report-dir', reportDir)
  return { reportDir, tempDir }
}

/** The runner's cancel (SIGINT, SIGTERM) stops the current stage; the report is still written. */
function cancelOnSignals(runner: RunnerPort): AbortSignal {
  const cancel = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    // The runner's second signal (SIGTERM, 7.5 s after its SIGINT): the last resort for whatever
    // no owner has ended by now (the toolkit's own processes, a child deaf to SIGTERM).
    if (cancel.signal.aborted) return void signalChildren('SIGKILL')
    runner.log.warning(`Received ${signal}: stopping the current stage and writing the report.`)
    // Written at once: should the runner SIGKILL main before it delivers, post knows why.
    runner.saveState(STATE.cancelled, 'true')
    // Each run() ends its own child on this (SIGTERM to its group, SIGKILL 5 s later).
    cancel.abort()
  }
  runner.onCancel(onSignal)
  return cancel.signal
}

/**
 * The inputs, or undefined once a bad input's report is delivered and the step failed. An error
 * that is not an input's is thrown on, after that report.
 */
async function parseInputsOrReport(
  runner: RunnerPort,
  reportDir: string,
  secrets: Secrets
): Promise<Inputs | undefined> {
  try {
    return parseInputs(name => runner.getInput(name))
  } catch (error) {
    // Bad input still leaves a report: a setup-failed one that says which input and why.
    const message = errorMessage(error)
    runner.setFailed(message)
    const report = inputErrorReport(message)
    await deliver(runner, report, reportDir, {
      mode: 'failure',
      // A bad artifact-name would fail the upload too: the report goes under the default name.
      name:
        (error instanceof InputError && error.input === 'artifact-name'
          ? ''
          : runner.getInput('artifact-name').trim()) || INPUT_DEFAULTS['artifact-name'],
      secrets,
      log: runner.log
    })
    if (!(error instanceof InputError)) throw error
    return undefined
  }
}

/** What post must know as the run goes (state written at once: main may be killed any time). */
function handOverToPost(runner: RunnerPort): PipelineHooks {
  const save = (name: string, value: string): void => runner.saveState(name, value)
  return {
    onKey: key => save(STATE.keyDir, key.dir),
    onCleanupPaths: paths => save(STATE.cleanupPaths, JSON.stringify(paths)),
    onQemuStarted: pid => save(STATE.qemuPid, String(pid)),
    onCacheSave: state => save(STATE.imageCache, JSON.stringify(state)),
    onSetup: setup => {
      if (setup.ok && setup.nix) exportNixEnv(runner, nixStepEnv(setup.nix, runner.env))
    }
  }
}

/** Compared with the last good run (issue 9); post saves this run as the baseline when it may. */
async function compareWithLastGoodRun(
  runner: RunnerPort,
  report: Report,
  reportDir: string,
  inputs: Inputs
): Promise<void> {
  const { log, env } = runner
  const view = await log.group('Compare with the last good run', () =>
    regressionView(report, reportDir, { ...inputs, env, log })
  )
  report.comparison = view.comparison
  if (view.saveKey && view.baselineFile) {
    runner.saveState(STATE.baselineFile, view.baselineFile)
    runner.saveState(STATE.baselineKey, view.saveKey)
  }
}

/** The step fails unless the run passed, and with fail-on-regression, had no regression. */
function failUnlessPassed(runner: RunnerPort, report: Report, inputs: Inputs): void {
  const regressions = report.comparison?.regressions.length ?? 0
  if (report.result !== 'passed') runner.setFailed(`boot-image-vm: ${report.result}`)
  else if (inputs.failOnRegression && regressions) {
    runner.setFailed(
      `boot-image-vm: passed, but with ${regressions} regression(s) since the last good run (fail-on-regression)`
    )
  }
}

/** Input 'boot' false: the ISO is the step's product, so a failed upload fails the step. */
async function shipIso(
  runner: RunnerPort,
  report: Report,
  inputs: Inputs,
  secrets: Secrets
): Promise<void> {
  const { log } = runner
  report.isoArtifact = await log.group('Upload the ISO as an artifact', () =>
    uploadIsoArtifact(report, inputs, { secrets, log })
  )
  const boot = report.stages.boot
  // The stage table says where the ISO went (or why it did not).
  if (boot) boot.detail = `${boot.detail}; the ISO: ${report.isoArtifact.detail}`
  if (report.result === 'passed' && report.isoArtifact.status !== 'uploaded') {
    runner.setFailed(`boot-image-vm: the ISO was not uploaded: ${report.isoArtifact.detail}`)
  }
}

/**
 * Later steps get the action's Nix, configured the same way: written to GITHUB_ENV and GITHUB_PATH
 * at once (each file command is appended as it is called), so a main killed after setup still
 * leaves them. core also sets them in this process, so the stages that follow see them too.
 */
function exportNixEnv(runner: RunnerPort, step: NixStepEnv): void {
  for (const [name, value] of Object.entries(step.variables)) runner.exportVariable(name, value)
  // addPath puts each directory first: the last added ends up in front.
  for (const dir of missingPaths(step, runner.env.PATH).reverse()) runner.addPath(dir)
}

/** A fresh directory in RUNNER_TEMP, or in the system's temp directory when that is not writable. */
function reportBase(runner: RunnerPort): string {
  const runnerTemp = runner.env.RUNNER_TEMP
  if (runnerTemp) {
    try {
      return mkdtempSync(join(runnerTemp, 'boot-image-vm-'))
    } catch (error) {
      runner.log.warning(
        `RUNNER_TEMP (${runnerTemp}) cannot hold the report (${errorMessage(error)}); using ${tmpdir()} instead.`
      )
    }
  }
  return mkdtempSync(join(tmpdir(), 'boot-image-vm-'))
}

/** The report delivered, then the outputs; post is told it need not deliver it again. */
async function deliver(
  runner: RunnerPort,
  report: Report,
  reportDir: string,
  options: DeliveryOptions
): Promise<void> {
  await deliverReport(report, reportDir, {
    ...options,
    writeSummary: markdown => runner.writeSummary(markdown)
  })
  for (const [name, value] of Object.entries(actionOutputs(report, { reportDir })))
    runner.setOutput(name, value)
  runner.saveState(STATE.delivered, 'true')
}

function inputErrorReport(message: string): Report {
  const report = emptyReport()
  report.stages.setup = { status: 'failed', durationMs: 0, detail: message }
  report.setup = {
    ok: false,
    error: message,
    changes: [],
    cleanupPaths: [],
    kvm: { action: 'not checked', deviceUsable: false }
  }
  return report
}

/** What the pipeline had written before it crashed, marked as such. */
function crashReport(reportDir: string, message: string): Report {
  const report = readReport(reportDir) ?? emptyReport()
  report.error = `boot-image-vm crashed: ${message}`
  report.complete = true
  if (report.result === 'passed')
    Object.assign(report, { result: 'setup-failed', decidedBy: 'setup' })
  return report
}
