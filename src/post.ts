// The post step: undo what main left behind — a QEMU it could not stop, the ephemeral key, the
// access-token configuration — and deliver the report when main was stopped before it could.
// Housekeeping never fails the job, and the step always ends.
import * as core from '@actions/core'
import { rmSync } from 'node:fs'
import { saveImageCacheFromState } from './cache/index.js'
import { cleanupSetup } from './setup/index.js'
import { actionsLog } from './log.js'
import { errorMessage } from './process.js'
import { saveBaseline, deliverReport, addPrivateKeys, interruptedReport } from './report/index.js'
import { INPUT_DEFAULTS, parseInputs, type Inputs } from './inputs.js'
import { decideVerdict } from './pipeline.js'
import { Secrets } from './secrets.js'
import { STATE } from './state.js'
import { stopLeftoverQemu } from './vm/index.js'

export async function run(): Promise<void> {
  try {
    const pid = Number(core.getState(STATE.qemuPid))
    if (pid > 0) {
      const outcome = await stopLeftoverQemu(pid)
      if (outcome !== 'not running') core.info(`QEMU (pid ${pid}): ${outcome}`)
    }
    const keyDir = core.getState(STATE.keyDir)
    try {
      await deliverInterruptedReport(keyDir)
    } catch (error) {
      core.warning(`The report of the stopped main step was not delivered: ${errorMessage(error)}`)
    }
    if (keyDir) rmSync(keyDir, { recursive: true, force: true })
    const cleanup = core.getState(STATE.cleanupPaths)
    if (cleanup) cleanupSetup(JSON.parse(cleanup) as string[])
  } catch (error) {
    core.warning(`Post step clean-up: ${errorMessage(error)}`)
  }
  // The image cache, even when a later stage failed (main handed over what was built).
  await saveImageCacheFromState(
    core.getState(STATE.imageCache),
    core.getState(STATE.reportDir),
    actionsLog
  )
  // A passing run becomes the baseline of the next (main decided whether it may).
  const baselineFile = core.getState(STATE.baselineFile)
  const baselineKey = core.getState(STATE.baselineKey)
  if (baselineFile && baselineKey) {
    core.info(`Baseline: ${await saveBaseline(baselineFile, baselineKey, actionsLog)}`)
  }
}

/** Main never delivered its report (SIGKILLed after a cancel, or crashed): post does it. */
async function deliverInterruptedReport(keyDir: string): Promise<void> {
  const reportDir = core.getState(STATE.reportDir)
  if (!reportDir || core.getState(STATE.delivered)) return
  const cancelled = core.getState(STATE.cancelled) === 'true'
  const report = interruptedReport(reportDir, cancelled, decideVerdict)
  core.error(`boot-image-vm: ${report.result} (${report.error})`, {
    title: 'boot-image-vm: main step stopped before it finished'
  })
  const secrets = new Secrets(value => core.setSecret(value))
  secrets.addFromEnvironment(process.env)
  if (keyDir) addPrivateKeys(keyDir, secrets)
  let inputs: Pick<Inputs, 'upload' | 'artifactName' | 'retentionDays'>
  try {
    const parsed = parseInputs(name => core.getInput(name))
    secrets.add(parsed.githubToken)
    inputs = parsed
  } catch {
    // Main reported a bad input itself; only a crash gets here: deliver under the defaults.
    inputs = {
      upload: 'always',
      artifactName: INPUT_DEFAULTS['artifact-name'],
      retentionDays: undefined
    }
  }
  await deliverReport(report, reportDir, {
    mode: inputs.upload,
    name: inputs.artifactName,
    retentionDays: inputs.retentionDays,
    secrets,
    log: actionsLog
  })
}
