// The VM stage's lines in the stage table: boot, probes and the test command, each its own row.
import type { StageName, StageRecord, VmStageResult } from '../model/index.js'

/** The rows for boot, probes (only after a boot) and test (only when one ran). */
export function judgeVm(
  vm: VmStageResult,
  bootMs: number
): Partial<Record<StageName, StageRecord>> {
  const boot = vm.boot
  const records: Partial<Record<StageName, StageRecord>> = {
    boot: {
      status: boot.status === 'passed' ? 'passed' : 'failed',
      durationMs: bootMs,
      detail:
        boot.status === 'passed'
          ? `SSH ready after ${boot.bootSeconds?.toFixed(1)} s under ${boot.accel}`
          : (boot.error ?? 'boot failed')
    }
  }
  if (boot.status !== 'passed') return records
  const failed = vm.probes.filter(probe => probe.exitCode !== 0 || probe.timedOut)
  const failedRequired = failed.filter(probe => probe.required)
  records.probes = {
    status: failedRequired.length ? 'failed' : failed.length ? 'warning' : 'passed',
    durationMs: vm.probes.reduce((sum, probe) => sum + probe.durationMs, 0),
    detail: `${vm.probes.length - failed.length}/${vm.probes.length} passed${
      failed.length ? `; failed: ${failed.map(probe => probe.name).join(', ')}` : ''
    }`
  }
  if (vm.test) {
    records.test = {
      status: vm.test.exitCode === 0 && !vm.test.timedOut ? 'passed' : 'failed',
      durationMs: vm.test.durationMs,
      detail: vm.test.timedOut ? 'timed out' : `exit code ${vm.test.exitCode}`
    }
  }
  return records
}
