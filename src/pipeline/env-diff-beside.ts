// The env diff beside the build and the boot: nobody waits for it but the report.
import type { Log } from '../shared/log.js'
import type { NixInstallation, StageJudgement } from '../model/index.js'
import { judgeEnvDiff, judgeEnvDiffError } from '../env/index.js'
import type { PipelineRun } from './pipeline-run.js'

/** Starts the diff; its record lands in the report when it ends. Never rejects. */
export function startEnvDiff(
  run: PipelineRun,
  nix: NixInstallation,
  keyEnv: Record<string, string>
): Promise<void> {
  const { inputs, ctx, record } = run
  const started = Date.now()
  const log = labelledLog(ctx.log, 'env diff')
  log.info(`Diffing the build environment against ${inputs.devshell}, beside the build`)
  return run.stages
    .diffBuildEnvironment(
      nix,
      { flake: inputs.flake, image: inputs.image, devshell: inputs.devshell, keyEnv },
      { ...ctx, log }
    )
    .then((result): StageJudgement => {
      record.envDiffed(result)
      return judgeEnvDiff(result)
    }, judgeEnvDiffError)
    .then(judgement => {
      record.judged('env-diff', judgement, Date.now() - started)
      record.save()
    })
}

/**
 * A branch's log inside another stage's group: its lines say whose they are, and it opens no
 * group of its own (the job log has one open group at a time).
 */
function labelledLog(log: Log, label: string): Log {
  return {
    info: message => log.info(`[${label}] ${message}`),
    echo: (source, text) => log.echo(`${label}: ${source}`, text),
    debug: message => log.debug(`[${label}] ${message}`),
    warning: (message, annotation) => log.warning(message, annotation),
    error: (message, annotation) => log.error(message, annotation),
    group: (_name, fn) => fn()
  }
}
