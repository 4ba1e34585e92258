// The regression view of a finished run, in Actions: this run's baseline (baseline.json in the
// report directory when it passed), the newest baseline of the same image restored from the cache,
// the comparison, and the key post saves under. Never throws: a failure is the comparison's 'error'.
import type { CompareMode } from '../inputs.js'
import type { Log } from '../log.js'
import type { Comparison, Report } from '../model.js'
import { errorMessage } from '../process.js'
import { currentBaseline, writeBaselineFile } from './baseline-file.js'
import {
  baselineKey,
  baselineScope,
  restoreBaseline,
  type RestoredBaseline
} from './baseline-store.js'
import { compareWithBaseline, noComparison } from './compare.js'

export interface RegressionViewOptions {
  compare: CompareMode
  slowdownThresholdPercent: number
  failOnRegression: boolean
  flake: string
  image: string
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
    const current = await currentBaseline(report, reportDir, {
      flake: options.flake,
      attribute: options.image,
      run: runDescription(env)
    })
    const passed = report.result === 'passed' && !report.error
    let baselineFile: string | undefined
    try {
      if (passed) baselineFile = writeBaselineFile(reportDir, current)
    } catch (error) {
      log.warning(
        `baseline.json was not written, so this run cannot become the baseline: ${errorMessage(error)}`
      )
    }
    if (options.compare === 'off') {
      return { comparison: noComparison('off', "input 'compare' is off"), baselineFile }
    }
    // A cancelled job has seconds left: no cache calls.
    if (report.cancelled) return { comparison: noComparison('off', 'the run was cancelled') }
    const scope = baselineScope(env, { flake: options.flake, image: options.image })
    if (typeof scope === 'string') {
      return { comparison: noComparison('error', `no baseline scope: ${scope}`), baselineFile }
    }
    // A service that failed the image cache's lookup is not asked again (in a hang, each call
    // would wait for its own bound).
    const restored: RestoredBaseline = report.cache?.serviceDown
      ? {
          status: 'error',
          detail: 'not restored: the cache service failed the image cache lookup of this run',
          serviceDown: true
        }
      : await restoreBaseline(scope, log)
    let comparison: Comparison
    if (restored.status === 'restored' && restored.baseline) {
      comparison = compareWithBaseline(restored.baseline, current, {
        slowdownThresholdPercent: options.slowdownThresholdPercent,
        source: restored.key
      })
    } else {
      const status = restored.status === 'none' ? 'no-baseline' : 'error'
      comparison = noComparison(status, restored.detail, restored.key)
    }
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
