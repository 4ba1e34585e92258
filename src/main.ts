// The runner's main step: inputs from the runner, the pipeline, then outputs, the job summary
// and the artifact — on every path, failures included. Hands post what it must clean up.
import * as core from '@actions/core'
import { mkdtempSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import type { StageContext } from './shared/context.js'
import { INPUT_DEFAULTS, InputError, parseInputs, type Inputs } from './inputs/index.js'
import { actionsLog } from './shared/log.js'
import type { Report } from './model/index.js'
import { missingPaths, nixStepEnv, type NixStepEnv } from './setup/index.js'
import { runPipeline, type PipelineHooks } from './pipeline/index.js'
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
import { STATE } from './runner/state.js'

export async function run(): Promise<void> {
  const secrets = new Secrets(value => core.setSecret(value))
  secrets.addFromEnvironment(process.env)
  const { reportDir, tempDir } = makeRunDirs()
  const signal = cancelOnSignals()
  const inputs = await parseInputsOrReport(reportDir, secrets)
  if (!inputs) return
  secrets.add(inputs.githubToken)
  const ctx: StageContext = {
    log: actionsLog,
    secrets,
    reportDir,
    tempDir,
    env: process.env,
    signal
  }
  let report: Report
  try {
    report = await runPipeline(inputs, ctx, handOverToPost())
  } catch (error) {
    // An unexpected crash: still report, upload and fail with the message.
    report = crashReport(reportDir, errorMessage(error))
    core.error(errorMessage(error), { title: 'boot-image-vm crashed' })
  }
  if (!inputs.boot) await shipIso(report, inputs, secrets)
  await compareWithLastGoodRun(report, reportDir, inputs)
  await deliver(report, reportDir, {
    mode: inputs.upload,
    name: inputs.artifactName,
    retentionDays: inputs.retentionDays,
    secrets,
    log: actionsLog
  })
  annotate(report, actionsLog, probeOutputReader(reportDir))
  annotateComparison(report.comparison, actionsLog)
  failUnlessPassed(report, inputs)
}

/** The report and scratch directories, made; post and the outputs learn where the report is. */
function makeRunDirs(): { reportDir: string; tempDir: string } {
  const base = reportBase()
  const reportDir = join(base, 'report')
  const tempDir = join(base, 'work')
  mkdirSync(reportDir, { recursive: true })
  mkdirSync(tempDir, { recursive: true, mode: 0o700 })
  core.saveState(STATE.reportDir, reportDir)
  core.setOutput('report-dir', reportDir)
  return { reportDir, tempDir }
}

/** The runner's cancel (SIGINT, SIGTERM) stops the current stage; the report is still written. */
function cancelOnSignals(): AbortSignal {
  const cancel = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    // The runner's second signal (SIGTERM, 7.5 s after its SIGINT): the last resort for whatever
    // no owner has ended by now (the toolkit's own processes, a child deaf to SIGTERM).
    if (cancel.signal.aborted) return void signalChildren('SIGKILL')
    core.warning(`Received ${signal}: stopping the current stage and writing the report.`)
    // Written at once: should the runner SIGKILL main before it delivers, post knows why.
    core.saveState(STATE.cancelled, 'true')
    // Each run() ends its own child on this (SIGTERM to its group, SIGKILL 5 s later).
    cancel.abort()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return cancel.signal
}

/**
 * The inputs, or undefined once a bad input's report is delivered and the step failed. An error
 * that is not an input's is thrown on, after that report.
 */
async function parseInputsOrReport(
  reportDir: string,
  secrets: Secrets
): Promise<Inputs | undefined> {
  try {
    return parseInputs(name => core.getInput(name))
  } catch (error) {
    // Bad input still leaves a report: a setup-failed one that says which input and why.
    const message = errorMessage(error)
    core.setFailed(message)
    const report = inputErrorReport(message)
    await deliver(report, reportDir, {
      mode: 'failure',
      // A bad artifact-name would fail the upload too: the report goes under the default name.
      name:
        (error instanceof InputError && error.input === 'artifact-name'
          ? ''
          : core.getInput('artifact-name').trim()) || INPUT_DEFAULTS['artifact-name'],
      secrets,
      log: actionsLog
    })
    if (!(error instanceof InputError)) throw error
    return undefined
  }
}

/** What post must know as the run goes (state written at once: main may be killed any time). */
function handOverToPost(): PipelineHooks {
  return {
    onKey: key => core.saveState(STATE.keyDir, key.dir),
    onCleanupPaths: paths => core.saveState(STATE.cleanupPaths, JSON.stringify(paths)),
    onQemuStarted: pid => core.saveState(STATE.qemuPid, String(pid)),
    onCacheSave: state => core.saveState(STATE.imageCache, JSON.stringify(state)),
    onSetup: setup => {
      if (setup.ok && setup.nix) exportNixEnv(nixStepEnv(setup.nix, process.env))
    }
  }
}

/** Compared with the last good run (issue 9); post saves this run as the baseline when it may. */
async function compareWithLastGoodRun(
  report: Report,
  reportDir: string,
  inputs: Inputs
): Promise<void> {
  const view = await actionsLog.group('Compare with the last good run', () =>
    regressionView(report, reportDir, { ...inputs, env: process.env, log: actionsLog })
  )
  report.comparison = view.comparison
  if (view.saveKey && view.baselineFile) {
    core.saveState(STATE.baselineFile, view.baselineFile)
    core.saveState(STATE.baselineKey, view.saveKey)
  }
}

/** The step fails unless the run passed, and with fail-on-regression, had no regression. */
function failUnlessPassed(report: Report, inputs: Inputs): void {
  const regressions = report.comparison?.regressions.length ?? 0
  if (report.result !== 'passed') core.setFailed(`boot-image-vm: ${report.result}`)
  else if (inputs.failOnRegression && regressions) {
    core.setFailed(
      `boot-image-vm: passed, but with ${regressions} regression(s) since the last good run (fail-on-regression)`
    )
  }
}

/** Input 'boot' false: the ISO is the step's product, so a failed upload fails the step. */
async function shipIso(report: Report, inputs: Inputs, secrets: Secrets): Promise<void> {
  report.isoArtifact = await actionsLog.group('Upload the ISO as an artifact', () =>
    uploadIsoArtifact(report, inputs, { secrets, log: actionsLog })
  )
  const boot = report.stages.boot
  // The stage table says where the ISO went (or why it did not).
  if (boot) boot.detail = `${boot.detail}; the ISO: ${report.isoArtifact.detail}`
  if (report.result === 'passed' && report.isoArtifact.status !== 'uploaded') {
    core.setFailed(`boot-image-vm: the ISO was not uploaded: ${report.isoArtifact.detail}`)
  }
}

/**
 * Later steps get the action's Nix, configured the same way: written to GITHUB_ENV and GITHUB_PATH
 * at once (each file command is appended as it is called), so a main killed after setup still
 * leaves them. core also sets them in this process, so the stages that follow see them too.
 */
function exportNixEnv(step: NixStepEnv): void {
  for (const [name, value] of Object.entries(step.variables)) core.exportVariable(name, value)
  // addPath puts each directory first: the last added ends up in front.
  for (const dir of missingPaths(step, process.env.PATH).reverse()) core.addPath(dir)
}

/** A fresh directory in RUNNER_TEMP, or in the system's temp directory when that is not writable. */
function reportBase(): string {
  const runnerTemp = process.env.RUNNER_TEMP
  if (runnerTemp) {
    try {
      return mkdtempSync(join(runnerTemp, 'boot-image-vm-'))
    } catch (error) {
      core.warning(
        `RUNNER_TEMP (${runnerTemp}) cannot hold the report (${errorMessage(error)}); using ${tmpdir()} instead.`
      )
    }
  }
  return mkdtempSync(join(tmpdir(), 'boot-image-vm-'))
}

/** The report delivered, then the outputs; post is told it need not deliver it again. */
async function deliver(report: Report, reportDir: string, options: DeliveryOptions): Promise<void> {
  await deliverReport(report, reportDir, options)
  for (const [name, value] of Object.entries(actionOutputs(report, { reportDir })))
    core.setOutput(name, value)
  core.saveState(STATE.delivered, 'true')
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
