// What changed since the last good run: a baseline then, the same summary of this run now, and
// the differences — each a change, some of them regressions. Pure.
import { runChanges, unitChanges } from './compare-facts.js'
import { madeOfChanges } from './compare-changes.js'
import type { ComparedValue, Comparison, ComparisonChange, Regression } from '../model/index.js'
import { bootOf, type Baseline, type BaselineProbe } from './baseline.js'
import { sameMachine } from './boot-history.js'
import { historyRows, judgeBoot } from './boot-judgement.js'
import { unifiedDiff } from './unified-diff.js'
import { formatBytes } from '../shared/bounds.js'

export { DIFF_MAX_LINES, unifiedDiff } from './unified-diff.js'

export interface CompareOptions {
  /** Boot time may pass the recent runs' band by this many percent of their median. */
  slowdownThresholdPercent: number
  /** Where the baseline came from (a cache key, a file). */
  source?: string
}

/** Sizes that move by less than this (percent) are not a change (padding, the embedded key). */
export const SIZE_CHANGE_PERCENT = 1

// ---- the comparison ----------------------------------------------------------------------------

function compared(before: number | undefined, after: number | undefined): ComparedValue {
  const value: ComparedValue = { before, after }
  if (before !== undefined && after !== undefined && before > 0) {
    value.deltaPercent = Math.round(((after - before) / before) * 1000) / 10
  }
  return value
}

const signed = (percent: number): string => `${percent > 0 ? '+' : ''}${percent}%`

function probeOutcome(probe: BaselineProbe): string {
  if (probe.timedOut) return 'timed out'
  if (probe.missing) return 'command missing'
  return probe.exitCode === null ? 'no exit code' : `exit code ${probe.exitCode}`
}

const probePassed = (probe: BaselineProbe): boolean =>
  probe.exitCode === 0 && !probe.timedOut && !probe.missing

function compareProbes(before: BaselineProbe[], after: BaselineProbe[]): ComparisonChange[] {
  const changes: ComparisonChange[] = []
  const old = new Map(before.map(probe => [probe.name, probe]))
  for (const probe of after) {
    const then = old.get(probe.name)
    old.delete(probe.name)
    if (!then) {
      changes.push({
        kind: 'probe-added',
        subject: probe.name,
        summary: `Probe ${probe.name} is new (${probeOutcome(probe)}).`,
        regression: false
      })
      continue
    }
    if (probeOutcome(then) !== probeOutcome(probe)) {
      const worse = probePassed(then) && !probePassed(probe)
      changes.push({
        kind: 'probe-result',
        subject: probe.name,
        summary: `Probe ${probe.name}: ${probeOutcome(then)} → ${probeOutcome(probe)}.`,
        before: probeOutcome(then),
        after: probeOutcome(probe),
        regression: worse
      })
    }
    if (then.digest && probe.digest && then.digest !== probe.digest) {
      // Optional probes only gather logs (a journal differs every boot): shown, never a regression.
      const optional = !probe.required
      const cut = then.truncated || probe.truncated ? ' (of the first 8 KiB)' : ''
      changes.push({
        kind: 'probe-output',
        subject: probe.name,
        summary: `Probe ${probe.name}: the output changed${optional ? ' (an optional probe: not a regression)' : ''}.`,
        before: then.digest,
        after: probe.digest,
        regression: !optional,
        diff:
          unifiedDiff(then.output ?? '', probe.output ?? '', {
            labels: [`${probe.name} (last good run)${cut}`, `${probe.name} (this run)${cut}`]
          }) || undefined
      })
    }
  }
  for (const gone of old.values()) {
    changes.push({
      kind: 'probe-removed',
      subject: gone.name,
      summary: `Probe ${gone.name} no longer runs.`,
      regression: false
    })
  }
  return changes
}

/**
 * Compares this run's baseline-shaped summary with the last good run's. Only what this run has is
 * compared (a run that did not boot has no probes to compare).
 */
export function compareWithBaseline(
  baseline: Baseline,
  current: Baseline,
  options: CompareOptions
): Comparison {
  const threshold = options.slowdownThresholdPercent
  const changes: ComparisonChange[] = []

  if (baseline.result !== current.result) {
    changes.push({
      kind: 'result',
      summary: `Result: ${baseline.result} → ${current.result}.`,
      before: baseline.result,
      after: current.result,
      regression: current.result !== 'passed'
    })
  }

  const boot = compared(baseline.bootSeconds, current.bootSeconds)
  const judged = judgeBootTime(baseline, current, threshold)
  changes.push(...bootTimeChange(judged))

  const iso = compared(baseline.image.isoBytes, current.image.isoBytes)
  const closure = compared(baseline.image.closureBytes, current.image.closureBytes)
  changes.push(...sizeChanges(iso, closure))

  changes.push(...unitChanges(baseline, current))
  if (baseline.probes && current.probes)
    changes.push(...compareProbes(baseline.probes, current.probes))
  changes.push(...runChanges(baseline, current))
  const madeOf = madeOfChanges(baseline, current, changes, judged.boot)
  changes.push(...madeOf.changes)

  const regressions: Regression[] = changes
    .filter(change => change.regression)
    .map(({ regression: _regression, diff: _diff, ...rest }) => rest)
  const partly =
    baseline.probes && !current.probes
      ? ' This run did not reach the probes: only what it has is compared.'
      : ''
  const since = `since the last good run (${baseline.createdAt})`
  const sentence = madeOf.imageChanges?.sentence
  const made =
    sentence && madeOf.changes.length ? ` ${sentence[0].toUpperCase()}${sentence.slice(1)}.` : ''
  return {
    status: changes.length ? 'changed' : 'unchanged',
    baselineSource: options.source,
    baselineCreatedAt: baseline.createdAt,
    baselineRun: baseline.run,
    detail:
      (changes.length
        ? `${changes.length} change${changes.length === 1 ? '' : 's'} ${since}, ${regressions.length} of them regression${regressions.length === 1 ? '' : 's'}.`
        : `Nothing changed ${since}.`) +
      made +
      partly,
    regressions,
    changes,
    bootSeconds: boot,
    isoBytes: iso,
    closureBytes: closure,
    slowdownThresholdPercent: threshold,
    ...judged,
    ...(madeOf.imageChanges ? { imageChanges: madeOf.imageChanges } : {})
  }
}

/**
 * A boot that is slower (a regression) or faster than the window's noise band; with too little
 * history to judge, one far from the earlier runs (past their allowance) is a changed figure,
 * said with both times, never a regression.
 */
function bootTimeChange(judged: ReturnType<typeof judgeBootTime>): ComparisonChange[] {
  const boot = judged.boot
  if (!boot || boot.verdict === 'within-noise') return []
  if (boot.verdict === 'too-little-history') {
    const { band, allowanceSeconds: allowed } = boot
    const far =
      band &&
      allowed !== undefined &&
      (boot.seconds > band.high + allowed || boot.seconds < band.low - allowed)
    return far
      ? [
          {
            kind: 'boot-time',
            summary: boot.sentence,
            before: band.median,
            after: boot.seconds,
            regression: false
          }
        ]
      : []
  }
  const slower = boot.verdict === 'slower'
  return [
    {
      kind: 'boot-time',
      subject: slower ? boot.slowerPhases?.[0] : undefined,
      summary: boot.sentence,
      before: boot.band?.high,
      after: boot.seconds,
      regression: slower
    }
  ]
}

/** The ISO's and the closure's size, when either moved by SIZE_CHANGE_PERCENT or more. */
function sizeChanges(iso: ComparedValue, closure: ComparedValue): ComparisonChange[] {
  const changes: ComparisonChange[] = []
  for (const [kind, name, value] of [
    ['iso-size', 'ISO size', iso],
    ['closure-size', 'Closure size', closure]
  ] as const) {
    if (value.deltaPercent === undefined || Math.abs(value.deltaPercent) < SIZE_CHANGE_PERCENT)
      continue
    changes.push({
      kind,
      summary: `${name}: ${formatBytes(value.before!)} → ${formatBytes(value.after!)} (${signed(value.deltaPercent)}).`,
      before: value.before,
      after: value.after,
      regression: false
    })
  }
  return changes
}

/**
 * This boot against the baseline's window (none: no baseline yet): only runs of the same
 * accelerator and firmware (a TCG boot is never judged against KVM ones), and never this run
 * itself (a re-read baseline).
 */
export function judgeBootTime(
  baseline: Baseline | undefined,
  current: Baseline,
  percent: number
): Pick<Comparison, 'boot' | 'history'> {
  const now = bootOf(current)
  if (!now) return {}
  const window = (baseline?.history ?? []).filter(
    run => sameMachine(run, now) && !(run.createdAt === now.createdAt && run.run === now.run)
  )
  return { boot: judgeBoot(window, now, percent), history: historyRows(window, now) }
}

/** The comparison when there is nothing to compare with. */
export function noComparison(
  status: 'no-baseline' | 'error' | 'off',
  detail: string,
  source?: string
): Comparison {
  return { status, detail, regressions: [], baselineSource: source }
}
