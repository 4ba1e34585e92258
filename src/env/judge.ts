// The env diff's line in the stage table: it only ever warns, never fails the run.
import { errorMessage } from '../shared/process.js'
import type { EnvDiffResult, StageJudgement } from '../model/index.js'

export function judgeEnvDiff(result: EnvDiffResult): StageJudgement {
  return {
    status: result.ok ? 'passed' : 'warning',
    detail: result.ok ? (result.verdicts[0] ?? 'no differences') : (result.error ?? 'failed')
  }
}

/** The env diff threw: a warning that says why. */
export function judgeEnvDiffError(error: unknown): StageJudgement {
  return { status: 'warning', detail: `the env diff failed: ${errorMessage(error)}` }
}
