// What changed since the last good run: a baseline then, the same summary of this run now, and
// the differences — each a change, some of them regressions. Pure.
import type { ComparedValue, Comparison, ComparisonChange, Regression } from '../model.js'
import type { Baseline, BaselineProbe } from './baseline.js'

export interface CompareOptions {
  /** Boot time may grow by this many percent before it is a regression. */
  slowdownThresholdPercent: number
  /** Where the baseline came from (a cache key, a file). */
  source?: string
}

/** Boot time must also grow by at least this much before it is a regression (noise on short boots). */
export const MIN_SLOWDOWN_SECONDS = 1
/** Sizes that move by less than this (percent) are not a change (padding, the embedded key). */
export const SIZE_CHANGE_PERCENT = 1
export const DIFF_MAX_LINES = 40

// ---- the tiny unified diff ---------------------------------------------------------------------

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number }

function diffOps(a: string[], b: string[]): Op[] {
  // Common head and tail first: most outputs differ in a few lines.
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const midA = a.slice(start, endA)
  const midB = b.slice(start, endB)
  const ops: Op[] = []
  for (let i = 0; i < start; i++) ops.push({ kind: ' ', line: a[i], a: i, b: i })
  if (midA.length * midB.length > 4_000_000) {
    // Too big for the table: all old lines out, all new lines in.
    midA.forEach((line, i) => ops.push({ kind: '-', line, a: start + i, b: start }))
    midB.forEach((line, i) => ops.push({ kind: '+', line, a: endA, b: start + i }))
  } else {
    // Longest common subsequence, walked from the front.
    const n = midA.length
    const m = midB.length
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i][j] =
          midA[i] === midB[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
      }
    }
    let i = 0
    let j = 0
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push({ kind: ' ', line: midA[i], a: start + i++, b: start + j++ })
      } else if (j < m && (i === n || lcs[i][j + 1] > lcs[i + 1][j])) {
        ops.push({ kind: '+', line: midB[j], a: start + i, b: start + j++ })
      } else {
        ops.push({ kind: '-', line: midA[i], a: start + i++, b: start + j })
      }
    }
  }
  for (let k = 0; endA + k < a.length; k++) {
    ops.push({ kind: ' ', line: a[endA + k], a: endA + k, b: endB + k })
  }
  return ops
}

/**
 * A unified diff of two texts (`---`/`+++` header, `@@` hunks with `context` lines around each
 * change), cut after maxLines lines with a note. '' when the texts are equal.
 */
export function unifiedDiff(
  before: string,
  after: string,
  options: { context?: number; maxLines?: number; labels?: [string, string] } = {}
): string {
  if (before === after) return ''
  const context = options.context ?? 2
  const maxLines = options.maxLines ?? DIFF_MAX_LINES
  const [labelA, labelB] = options.labels ?? ['before', 'after']
  const split = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'))
  const ops = diffOps(split(before), split(after))
  const changed = ops.map((op, index) => (op.kind === ' ' ? -1 : index)).filter(i => i >= 0)
  const lines = [`--- ${labelA}`, `+++ ${labelB}`]
  let index = 0
  while (index < changed.length) {
    const first = Math.max(0, changed[index] - context)
    let last = Math.min(ops.length - 1, changed[index] + context)
    while (index + 1 < changed.length && changed[index + 1] - context <= last + 1) {
      index++
      last = Math.min(ops.length - 1, changed[index] + context)
    }
    index++
    const hunk = ops.slice(first, last + 1)
    const countA = hunk.filter(op => op.kind !== '+').length
    const countB = hunk.filter(op => op.kind !== '-').length
    const startA = hunk[0].a + (countA ? 1 : 0)
    const startB = hunk[0].b + (countB ? 1 : 0)
    lines.push(`@@ -${startA},${countA} +${startB},${countB} @@`)
    for (const op of hunk) lines.push(op.kind + op.line)
  }
  if (lines.length > maxLines) {
    const left = lines.length - maxLines
    return [...lines.slice(0, maxLines), `… ${left} more diff line${left === 1 ? '' : 's'}`].join(
      '\n'
    )
  }
  return lines.join('\n')
}

// ---- the comparison ----------------------------------------------------------------------------

function compared(before: number | undefined, after: number | undefined): ComparedValue {
  const value: ComparedValue = { before, after }
  if (before !== undefined && after !== undefined && before > 0) {
    value.deltaPercent = Math.round(((after - before) / before) * 1000) / 10
  }
  return value
}

const seconds = (value: number): string => `${value.toFixed(1)} s`

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
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
  if (boot.before !== undefined && boot.after !== undefined && boot.deltaPercent !== undefined) {
    const delta = boot.after - boot.before
    const text = `${seconds(boot.before)} → ${seconds(boot.after)} (${signed(boot.deltaPercent)})`
    if (boot.deltaPercent > threshold && delta >= MIN_SLOWDOWN_SECONDS) {
      changes.push({
        kind: 'boot-time',
        summary: `Boot is slower: ${text}, more than the ${threshold}% allowed.`,
        before: boot.before,
        after: boot.after,
        regression: true
      })
    } else if (-boot.deltaPercent > threshold && -delta >= MIN_SLOWDOWN_SECONDS) {
      changes.push({
        kind: 'boot-time',
        summary: `Boot is faster: ${text}.`,
        before: boot.before,
        after: boot.after,
        regression: false
      })
    }
  }

  const iso = compared(baseline.image.isoBytes, current.image.isoBytes)
  const closure = compared(baseline.image.closureBytes, current.image.closureBytes)
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

  if (baseline.probes && current.probes)
    changes.push(...compareProbes(baseline.probes, current.probes))

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

  const regressions: Regression[] = changes
    .filter(change => change.regression)
    .map(({ regression: _regression, diff: _diff, ...rest }) => rest)
  const partly =
    baseline.probes && !current.probes
      ? ' This run did not reach the probes: only what it has is compared.'
      : ''
  const since = `since the last good run (${baseline.createdAt})`
  return {
    status: changes.length ? 'changed' : 'unchanged',
    baselineSource: options.source,
    baselineCreatedAt: baseline.createdAt,
    baselineRun: baseline.run,
    detail:
      (changes.length
        ? `${changes.length} change${changes.length === 1 ? '' : 's'} ${since}, ${regressions.length} of them regression${regressions.length === 1 ? '' : 's'}.`
        : `Nothing changed ${since}.`) + partly,
    regressions,
    changes,
    bootSeconds: boot,
    isoBytes: iso,
    closureBytes: closure,
    slowdownThresholdPercent: threshold
  }
}

/** The comparison when there is nothing to compare with. */
export function noComparison(
  status: 'no-baseline' | 'error' | 'off',
  detail: string,
  source?: string
): Comparison {
  return { status, detail, regressions: [], baselineSource: source }
}
