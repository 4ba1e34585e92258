// Pure: the changes between two runs besides boot time, sizes and probes: failed units and the
// system state (the guest's health), the test command, the Nix version and the accelerator.
import type { ComparisonChange } from '../model/index.js'
import type { Baseline } from './baseline.js'

/** Units that fail now or no longer fail, and a changed system state. */
export function unitChanges(baseline: Baseline, current: Baseline): ComparisonChange[] {
  const changes: ComparisonChange[] = []
  if (baseline.failedUnits && current.failedUnits) {
    const then = new Set(baseline.failedUnits)
    const now = new Set(current.failedUnits)
    for (const unit of current.failedUnits.filter(u => !then.has(u))) {
      changes.push({
        kind: 'failed-unit',
        subject: unit,
        summary: `Unit ${unit} fails now.`,
        regression: true
      })
    }
    for (const unit of baseline.failedUnits.filter(u => !now.has(u))) {
      changes.push({
        kind: 'resolved-unit',
        subject: unit,
        summary: `Unit ${unit} no longer fails.`,
        regression: false
      })
    }
  }
  if (baseline.systemState && current.systemState && baseline.systemState !== current.systemState) {
    changes.push({
      kind: 'system-state',
      summary: `System state: ${baseline.systemState} → ${current.systemState}.`,
      before: baseline.systemState,
      after: current.systemState,
      regression: current.systemState !== 'running'
    })
  }
  return changes
}

/** The test command's outcome, the Nix version and the accelerator, when they changed. */
export function runChanges(baseline: Baseline, current: Baseline): ComparisonChange[] {
  const changes: ComparisonChange[] = []
  if (baseline.test && current.test) {
    const outcome = (test: { exitCode: number | null; timedOut: boolean }): string =>
      test.timedOut ? 'timed out' : `exit code ${test.exitCode ?? 'none'}`
    const [then, now] = [outcome(baseline.test), outcome(current.test)]
    if (then !== now) {
      changes.push({
        kind: 'test',
        summary: `Test command: ${then} → ${now}.`,
        before: then,
        after: now,
        regression: now !== 'exit code 0'
      })
    }
  }

  const nixThen = baseline.nix && `${baseline.nix.variant} ${baseline.nix.version}`
  const nixNow = current.nix && `${current.nix.variant} ${current.nix.version}`
  if (nixThen && nixNow && nixThen !== nixNow) {
    changes.push({
      kind: 'nix-version',
      summary: `Nix: ${nixThen} → ${nixNow}.`,
      before: nixThen,
      after: nixNow,
      regression: false
    })
  }
  if (baseline.accel && current.accel && baseline.accel !== current.accel) {
    changes.push({
      kind: 'accelerator',
      summary: `Accelerator: ${baseline.accel} → ${current.accel}.`,
      before: baseline.accel,
      after: current.accel,
      regression: current.accel === 'tcg'
    })
  }
  return changes
}
