// The action's outputs (every one in action.yml, on every path) and the command line's exit codes,
// both derived from the report alone.
import type { BuildResult, Report, Result } from '../model/index.js'
import { join } from 'node:path'
import { changesOutput } from './changes/render.js'
import { JUNIT_FILE } from './junit.js'

/** Every output action.yml declares, in its order. */
export const OUTPUT_NAMES = [
  'result',
  'iso-path',
  'iso-artifact',
  'out-path',
  'drv-path',
  'failed-drvs',
  'accel',
  'boot-seconds',
  'nix-version',
  'report-dir',
  'artifact-id',
  'artifact-url',
  'regressions',
  'changes',
  'junit-path'
] as const

export type OutputName = (typeof OUTPUT_NAMES)[number]

/** The command line's exit code for each result; 1 is an internal error (a bug or a crash). */
export const EXIT_CODES = {
  passed: 0,
  'internal-error': 1,
  'setup-failed': 2,
  'eval-failed': 3,
  'build-failed': 4,
  'boot-failed': 5,
  'probe-failed': 6,
  'test-failed': 7
} as const satisfies Record<Result | 'internal-error', number>

export function exitCodeFor(result: Result): number {
  return EXIT_CODES[result]
}

export interface OutputContext {
  reportDir: string
  /** Overrides the version from the setup result (e.g. when setup did not finish). */
  nixVersion?: string
}

/** The build whose paths the outputs name: the first context's (the one booted) when it has them. */
function primaryBuild(builds: BuildResult[]): BuildResult | undefined {
  return (
    builds.find(b => b.status === 'passed' && b.outPath) ?? builds.find(b => b.drvPath) ?? builds[0]
  )
}

function failedDrvs(builds: BuildResult[]): string {
  const seen = new Set<string>()
  const list: {
    drv: string
    name: string
    reason: string
    exitCode: number | null
    log: string
  }[] = []
  for (const build of builds) {
    for (const f of build.failures) {
      if (seen.has(f.drv)) continue
      seen.add(f.drv)
      list.push({ drv: f.drv, name: f.name, reason: f.reason, exitCode: f.exitCode, log: f.log })
    }
  }
  return JSON.stringify(list)
}

function seconds(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return ''
  return String(Math.round(value * 10) / 10)
}

/** Every output, '' where it does not apply; failed-drvs is always a JSON array. */
export function actionOutputs(report: Report, context: OutputContext): Record<OutputName, string> {
  const build = primaryBuild(report.builds)
  const boot = report.vm?.boot
  const upload = report.upload
  return {
    result: report.result,
    'iso-path': build?.isoPath ?? '',
    'iso-artifact':
      report.isoArtifact?.status === 'uploaded' ? (report.isoArtifact.name ?? '') : '',
    'out-path': build?.outPath ?? '',
    'drv-path': build?.drvPath ?? '',
    'failed-drvs': failedDrvs(report.builds),
    accel: boot?.accel ?? '',
    'boot-seconds': boot?.status === 'passed' ? seconds(boot.bootSeconds) : '',
    'nix-version': context.nixVersion ?? report.setup?.nix?.version ?? '',
    'report-dir': context.reportDir,
    'artifact-id': upload?.artifactId === undefined ? '' : String(upload.artifactId),
    'artifact-url': upload?.artifactUrl ?? '',
    regressions: JSON.stringify(report.comparison?.regressions ?? []),
    changes: changesOutput(report.comparison?.imageChanges),
    'junit-path': join(context.reportDir, JUNIT_FILE)
  }
}
