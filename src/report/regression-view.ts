// The regression view of a finished run, in Actions: the newest baseline of the same image restored
// from the cache, the comparison, this run's baseline (baseline.json in the report directory when
// it passed, carrying the window of recent runs), boot-history.csv, and the key post saves under. Never throws: a failure is the comparison's 'error'.
import type { CompareMode, Comparison, Report } from '../model/index.js'
import type { Log } from '../shared/log.js'
import { errorMessage } from '../shared/process.js'
import { withHistory, type Baseline } from './baseline.js'
import { currentBaseline, writeBaselineFile, writeBootHistory } from './baseline-file.js'
import {
  baselineKey,
  baselineScope,
  restoreBaseline,
  type BaselineScope,
  type RestoredBaseline
} from './baseline-store.js'
import { composeImage } from './changes/composition.js'
import { writeChangesFiles } from './changes/files.js'
import { compareWithBaseline, judgeBootTime, noComparison } from './compare.js'

export interface RegressionViewOptions {
  compare: CompareMode
  slowdownThresholdPercent: number
  failOnRegression: boolean
  flake: string
  image: string
  /** The firmware input: part of the baseline's key and of what boot time is judged against. */
  firmware?: string
  env: NodeJS.ProcessEnv
  log: Log
}

export interface RegressionView {
  comparison: Comparison
  /** baseline.json in the report directory (written when the run passed). */
  baselineFile?: string
  /** Where post saves baselineFile; absent when this run must not become the baseline. */
  saveKey?: string
}

/** "octo/repo run 12 attempt 1 on main" (or the pull request's head branch). */
export function runDescription(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return undefined
  const ref = env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME
  return `${env.GITHUB_REPOSITORY} run ${env.GITHUB_RUN_ID} attempt ${env.GITHUB_RUN_ATTEMPT || '1'}${ref ? ` on ${ref}` : ''}`
}

export async function regressionView(
  report: Report,
  reportDir: string,
  options: RegressionViewOptions
): Promise<RegressionView> {
  const { log, env } = options
  try {
    // A cancelled job has seconds left: no cache or Nix calls, and it is no baseline.
    if (report.cancelled) return { comparison: noComparison('off', 'the run was cancelled') }
    const current = await currentBaseline(report, reportDir, {
      flake: options.flake,
      attribute: options.image,
      firmware: options.firmware,
      run: runDescription(env),
      composition: options.compare === 'off' ? undefined : await composition(report, options)
    })
    const passed = report.result === 'passed' && !report.error
    const { comparison, restored, scope } = await compare(report, current, options)
    // This run's baseline carries the window it was judged against, itself added.
    const baselineFile = passed
      ? writeSafely(
          () => writeBaselineFile(reportDir, withHistory(current, restored?.baseline)),
          log
        )
      : undefined
    writeBootHistory(reportDir, comparison, log)
    writeChangesFiles(reportDir, comparison.imageChanges, log)
    if (comparison.imageChanges) log.info(`What changed: ${comparison.imageChanges.sentence}.`)
    if (!scope || !restored) return { comparison, baselineFile }
    log.info(`Compared with the last good run: ${comparison.detail}`)
    // The baseline is the last good run: a pull request never replaces its base branch's, and a
    // run failed for its regressions must not become the baseline that hides them next time. A
    // service that failed the lookup is not tried again by post (it must end quickly).
    const failsOnRegression = options.failOnRegression && comparison.regressions.length > 0
    const notSaved = !scope.saves
      ? 'pull requests compare with their base branch'
      : failsOnRegression
        ? 'it failed on its regressions'
        : restored.serviceDown
          ? 'the cache service failed the lookup, so post does not try it again'
          : undefined
    const saveKey = baselineFile && !notSaved ? baselineKey(scope) : undefined
    if (baselineFile && notSaved) log.info(`This run does not become the baseline: ${notSaved}.`)
    return { comparison, baselineFile, saveKey }
  } catch (error) {
    log.warning(`The comparison with the last good run failed: ${errorMessage(error)}`)
    return { comparison: noComparison('error', errorMessage(error)) }
  }
}

/** The comparison with the newest stored baseline of this image, when there is one to ask for. */
async function compare(
  report: Report,
  current: Baseline,
  options: RegressionViewOptions
): Promise<{ comparison: Comparison; restored?: RestoredBaseline; scope?: BaselineScope }> {
  if (options.compare === 'off')
    return { comparison: noComparison('off', "input 'compare' is off") }
  const scope = baselineScope(options.env, { ...options, guest: report.vm?.boot.guest?.arch })
  if (typeof scope === 'string') {
    return { comparison: noComparison('error', `no baseline scope: ${scope}`) }
  }
  // A service that failed the image cache's lookup is not asked again (in a hang, each call
  // would wait for its own bound).
  const restored: RestoredBaseline = report.cache?.serviceDown
    ? {
        status: 'error',
        detail: 'not restored: the cache service failed the image cache lookup of this run',
        serviceDown: true
      }
    : await restoreBaseline(scope, options.log)
  if (restored.status === 'restored' && restored.baseline) {
    const comparison = compareWithBaseline(restored.baseline, current, {
      slowdownThresholdPercent: options.slowdownThresholdPercent,
      source: restored.key
    })
    return { comparison, restored, scope }
  }
  const status = restored.status === 'none' ? 'no-baseline' : 'error'
  const comparison = noComparison(status, restored.detail, restored.key)
  // With no baseline there is no window yet, but this run's boot is still said plainly.
  return {
    comparison: {
      ...comparison,
      ...judgeBootTime(undefined, current, options.slowdownThresholdPercent)
    },
    restored,
    scope
  }
}

/** What the image was made of (its inputs, the commit, its packages), timed in the log. */
async function composition(report: Report, options: RegressionViewOptions) {
  const started = Date.now()
  const composed = await composeImage(report, { flake: options.flake, env: options.env })
  const packages = Object.keys(composed?.packages ?? {}).length
  options.log.info(
    `What the image was made of: ${composed?.inputs?.length ?? 0} input(s), ${packages} package(s), read in ${Date.now() - started} ms${composed?.notes?.length ? ` (${composed.notes.join('; ')})` : ''}.`
  )
  return composed
}

function writeSafely(write: () => string, log: Log): string | undefined {
  try {
    return write()
  } catch (error) {
    log.warning(
      `baseline.json was not written, so this run cannot become the baseline: ${errorMessage(error)}`
    )
    return undefined
  }
}
