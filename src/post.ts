// The post step: undo what main left behind — a QEMU it could not stop, the ephemeral key, the
// access-token configuration — and deliver the report when main was stopped before it could.
// Every value main handed over is checked first (post-state.ts: state can be forged); one that
// fails is ignored with a warning. Housekeeping never fails the job, and the step always ends.
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import {
  CACHE_PATH,
  cacheSaveRefusal,
  checkCacheSaveState,
  saveImageCacheFromState
} from './cache/index.js'
import { cleanupSetup, defaultSetupPaths } from './setup/index.js'
import { errorMessage } from './shared/process.js'
import { addPrivateKeys, deliverReport, interruptedReport, saveBaseline } from './report/index.js'
import { INPUT_DEFAULTS, parseInputs, type Inputs } from './inputs/index.js'
import { decideVerdict } from './pipeline/index.js'
import {
  checkCleanupPaths,
  checkPid,
  checkRunPath,
  ignoredState,
  nixCandidates,
  realPath,
  runDirRoots,
  type RunDirRoots
} from './runner/post-state.js'
import { actionsRunner, type RunnerPort } from './runner/port.js'
import { Secrets } from './shared/secrets.js'
import { STATE } from './runner/state.js'
import { stopLeftoverQemu } from './vm/index.js'

type StateName = (typeof STATE)[keyof typeof STATE]

/** The post step; `runner`: state, inputs, the job summary, the log and the environment. */
export async function run(runner: RunnerPort = actionsRunner): Promise<void> {
  const { log } = runner
  const dirs = runDirRoots(runner.env, tmpdir())
  const reportDir = statePath(runner, STATE.reportDir, dirs, 'report', false)
  const inputs = postInputs(runner)
  try {
    await stopQemu(runner)
    const keyDir = statePath(runner, STATE.keyDir, dirs, 'work', true)
    try {
      await deliverInterruptedReport(runner, reportDir, keyDir, inputs)
    } catch (error) {
      log.warning(`The report of the stopped main step was not delivered: ${errorMessage(error)}`)
    }
    if (keyDir) rmSync(keyDir, { recursive: true, force: true })
    const cleanup = runner.getState(STATE.cleanupPaths)
    if (cleanup) {
      const { paths, reasons } = checkCleanupPaths(cleanup, dirs)
      for (const reason of reasons) log.warning(ignoredState(STATE.cleanupPaths, reason))
      cleanupSetup(paths)
    }
  } catch (error) {
    log.warning(`Post step clean-up: ${errorMessage(error)}`)
  }
  // The image cache, even when a later stage failed (main handed over what was built).
  await saveImageCache(runner, reportDir, inputs)
  // A passing run becomes the baseline of the next (main decided whether it may).
  await saveRunBaseline(runner, dirs)
}

/** A path from state, checked (post-state.ts); undefined when unset, gone or refused. */
function statePath(
  runner: RunnerPort,
  name: StateName,
  dirs: RunDirRoots,
  part: 'work' | 'report',
  inside: boolean
): string | undefined {
  const raw = runner.getState(name)
  if (!raw) return undefined
  const checked = checkRunPath(raw, dirs, part, inside)
  if ('reason' in checked) runner.log.warning(ignoredState(name, checked.reason))
  return 'path' in checked ? checked.path : undefined
}

/** The inputs, or undefined when they do not parse (main reported that, or crashed). */
function postInputs(runner: RunnerPort): Inputs | undefined {
  try {
    return parseInputs(name => runner.getInput(name))
  } catch {
    return undefined
  }
}

async function stopQemu(runner: RunnerPort): Promise<void> {
  const { log } = runner
  const raw = runner.getState(STATE.qemuPid)
  if (!raw) return
  const checked = checkPid(raw)
  if ('reason' in checked) return log.warning(ignoredState(STATE.qemuPid, checked.reason))
  const outcome = await stopLeftoverQemu(checked.pid)
  if (outcome === 'not QEMU') {
    log.warning(ignoredState(STATE.qemuPid, `process ${checked.pid} is not a QEMU: left alone`))
  } else if (outcome !== 'not running') {
    log.info(`QEMU (pid ${checked.pid}): ${outcome}`)
  }
}

/** Saves the entry main described, when it checks out and this run's event may save. */
async function saveImageCache(
  runner: RunnerPort,
  reportDir: string | undefined,
  inputs?: Inputs
): Promise<void> {
  const { env, log } = runner
  const raw = runner.getState(STATE.imageCache)
  if (!raw) return
  const checked = checkCacheSaveState(raw, {
    dir: resolve(process.cwd(), CACHE_PATH),
    nixPaths: nixCandidates(env.PATH ?? '', defaultSetupPaths(env).nixLocations),
    realPath,
    env
  })
  if ('reason' in checked) return log.warning(ignoredState(STATE.imageCache, checked.reason))
  // Decided again here: a forged state cannot lift the refusal.
  const refusal = cacheSaveRefusal(inputs?.cacheSave ?? 'auto', env.GITHUB_EVENT_NAME)
  const state = { ...checked.state, skip: checked.state.skip ?? refusal }
  await saveImageCacheFromState(state, reportDir ?? '', log)
}

async function saveRunBaseline(runner: RunnerPort, dirs: RunDirRoots): Promise<void> {
  const { log } = runner
  const file = statePath(runner, STATE.baselineFile, dirs, 'report', true)
  const key = runner.getState(STATE.baselineKey)
  if (!file || !key) return
  if (!/^boot-image-vm-baseline-v\d+\//.test(key)) {
    return log.warning(ignoredState(STATE.baselineKey, 'not a baseline key'))
  }
  log.info(`Baseline: ${await saveBaseline(file, key, log)}`)
}

/** Main never delivered its report (SIGKILLed after a cancel, or crashed): post does it. */
async function deliverInterruptedReport(
  runner: RunnerPort,
  reportDir: string | undefined,
  keyDir: string | undefined,
  parsed: Inputs | undefined
): Promise<void> {
  const { log } = runner
  if (!reportDir || runner.getState(STATE.delivered)) return
  const cancelled = runner.getState(STATE.cancelled) === 'true'
  const report = interruptedReport(reportDir, cancelled, decideVerdict)
  log.error(`boot-image-vm: ${report.result} (${report.error})`, {
    title: 'boot-image-vm: main step stopped before it finished'
  })
  const secrets = new Secrets(value => runner.setSecret(value))
  secrets.addFromEnvironment(runner.env)
  if (keyDir) addPrivateKeys(keyDir, secrets)
  secrets.add(parsed?.githubToken)
  // Main reported a bad input itself; only a crash gets here without inputs: the defaults.
  const inputs: Pick<Inputs, 'upload' | 'artifactName' | 'retentionDays'> = parsed ?? {
    upload: 'always',
    artifactName: INPUT_DEFAULTS['artifact-name'],
    retentionDays: undefined
  }
  await deliverReport(report, reportDir, {
    mode: inputs.upload,
    name: inputs.artifactName,
    retentionDays: inputs.retentionDays,
    secrets,
    log,
    writeSummary: markdown => runner.writeSummary(markdown)
  })
}
