// The run's verdict from what the stages returned: the one place it is decided.
import type { Report, Result, StageName } from '../model/index.js'

export interface Verdict {
  result: Result
  decidedBy: StageName | null
}

/** The verdict from what the stages returned, in the order the stages run. */
export function decideVerdict(report: Report): Verdict {
  if (report.setup && !report.setup.ok) return { result: 'setup-failed', decidedBy: 'setup' }
  // No QEMU can come: the build was stopped for it (a stopped provisioning was not needed).
  if (report.qemu?.status === 'failed') return { result: 'setup-failed', decidedBy: 'qemu' }
  const failedBuild = report.builds.find(build => build.status !== 'passed')
  if (failedBuild) return { result: failedBuild.status as Result, decidedBy: 'build' }
  const vm = report.vm
  if (vm?.boot.status === 'failed') return { result: 'boot-failed', decidedBy: 'boot' }
  if (vm?.probes.some(probe => probe.required && (probe.exitCode !== 0 || probe.timedOut))) {
    return { result: 'probe-failed', decidedBy: 'probes' }
  }
  if (vm?.test && (vm.test.exitCode !== 0 || vm.test.timedOut)) {
    return { result: 'test-failed', decidedBy: 'test' }
  }
  // A cancelled run never passes: blame the stage that was cut short.
  if (report.cancelled) {
    // A skipped build: the ISO was given (input 'iso'), so only the boot can have been cut short.
    return vm ||
      report.stages.build?.status === 'passed' ||
      report.stages.build?.status === 'skipped'
      ? { result: 'boot-failed', decidedBy: 'boot' }
      : { result: 'build-failed', decidedBy: 'build' }
  }
  return { result: 'passed', decidedBy: null }
}
