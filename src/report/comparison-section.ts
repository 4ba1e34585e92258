// "Compared with the last good run": the summary section and the annotations of a Comparison —
// what changed since the last good run, and boot time against the recent runs (a sentence, a
// chart, a table). Pure rendering, with its own caps, like every section of the summary.
import type { Log } from '../shared/log.js'
import type { ComparedValue, Comparison } from '../model/index.js'
import { bootChart, bootHistoryTable, CHART_CAPTION } from './boot-chart.js'
import { changesSection } from './changes/render.js'
import { formatBytes } from '../shared/bounds.js'
import { codeCell, details, escapeCell, fence, table } from './markdown.js'

export const COMPARISON_LIMITS = { changes: 30, diffs: 10, annotations: 5 }

const HEADING = '### Compared with the last good run'

function row(name: string, value: ComparedValue | undefined, format: (n: number) => string) {
  if (!value || (value.before === undefined && value.after === undefined)) return undefined
  const delta =
    value.deltaPercent === undefined
      ? ''
      : `${value.deltaPercent > 0 ? '+' : ''}${value.deltaPercent}%`
  return [
    name,
    value.before === undefined ? '' : format(value.before),
    value.after === undefined ? '' : format(value.after),
    delta
  ]
}

export function comparisonSection(comparison: Comparison | undefined): string {
  if (!comparison || comparison.status === 'off') return ''
  const lines = [HEADING]
  if (comparison.status === 'no-baseline' || comparison.status === 'error') {
    const what =
      comparison.status === 'no-baseline'
        ? 'No earlier passing run of this image to compare with'
        : 'The comparison did not run'
    lines.push(`${what}: ${escapeCell(comparison.detail, 1000)}.`)
    return lines.join('\n\n')
  }
  const from = [
    comparison.baselineRun ? escapeCell(comparison.baselineRun) : '',
    comparison.baselineCreatedAt ? `finished ${escapeCell(comparison.baselineCreatedAt)}` : '',
    comparison.baselineSource ? `from ${codeCell(comparison.baselineSource, 400)}` : ''
  ].filter(Boolean)
  if (from.length) lines.push(`Baseline: ${from.join(', ')}.`)
  const changes = comparison.changes ?? []
  lines.push(
    comparison.status === 'unchanged'
      ? '**Nothing changed** since the last good run.'
      : `**${comparison.regressions.length} regression${comparison.regressions.length === 1 ? '' : 's'}**, ${changes.length} change${changes.length === 1 ? '' : 's'} in all:`
  )
  const shown = changes.slice(0, COMPARISON_LIMITS.changes)
  if (shown.length) {
    const list = shown.map(c => `- ${c.regression ? '⚠️' : 'ℹ️'} ${escapeCell(c.summary, 500)}`)
    if (changes.length > shown.length) {
      list.push(`- _… and ${changes.length - shown.length} more (see \`report.json\`)._`)
    }
    lines.push(list.join('\n'))
  }
  // What the image was made of: on the first screen when something regressed, collapsed otherwise.
  const regressed = comparison.regressions.length > 0
  const madeOf = changesSection(comparison.imageChanges, regressed)
  if (madeOf && regressed) lines.push(madeOf)
  lines.push(...bootLines(comparison))
  const rows = [
    row('ISO size', comparison.isoBytes, formatBytes),
    row('Closure size', comparison.closureBytes, formatBytes)
  ].filter((r): r is string[] => r !== undefined)
  if (rows.length) lines.push(table(['', 'Last good run', 'This run', 'Change'], rows))
  const diffs = changes.filter(c => c.diff).slice(0, COMPARISON_LIMITS.diffs)
  for (const change of diffs) {
    lines.push(details(`Diff: ${change.subject ?? change.kind}`, fence(change.diff!, 'diff')))
  }
  if (madeOf && !regressed) lines.push(madeOf)
  return lines.join('\n\n')
}

/** Boot time against the recent runs: the sentence (unless a change says it), chart and table. */
function bootLines(comparison: Comparison): string[] {
  const boot = comparison.boot
  if (!boot) return []
  const lines: string[] = []
  if (boot.verdict === 'within-noise' || boot.verdict === 'too-little-history') {
    lines.push(`**Boot time:** ${escapeCell(boot.sentence, 500)}`)
  }
  const history = comparison.history ?? []
  const machine = [boot.accel?.toUpperCase(), boot.firmware?.toUpperCase()]
    .filter(Boolean)
    .join(', ')
  const chart = bootChart(history, machine)
  if (chart) lines.push(chart, `_${CHART_CAPTION}_`)
  if (history.length) {
    lines.push(details('Boot time and phases of the recent runs', bootHistoryTable(history)))
  }
  return lines
}

/** A warning annotation per regression (the first few), the slowdown first; not for `result`. */
export function annotateComparison(comparison: Comparison | undefined, log: Log): void {
  // A worse result is already the run's error annotation.
  const regressions = (comparison?.regressions ?? [])
    .filter(regression => regression.kind !== 'result')
    .sort((a, b) => Number(b.kind === 'boot-time') - Number(a.kind === 'boot-time'))
  for (const regression of regressions.slice(0, COMPARISON_LIMITS.annotations)) {
    const title =
      regression.kind === 'boot-time'
        ? 'Boot slower than the recent runs'
        : `Regression since the last good run (${regression.kind})`
    log.warning(regression.summary, { title })
  }
  // The suspects of a regression or a failed build, in one line beside it.
  const changes = comparison?.imageChanges
  if (changes?.suspects?.packages.length) {
    const sentence = changes.sentence
    log.warning(`${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`, {
      title: 'What changed since the last good run'
    })
  }
  const left = regressions.length - COMPARISON_LIMITS.annotations
  if (left > 0) {
    log.warning(`… and ${left} more; see the job summary.`, {
      title: 'Regressions since the last good run'
    })
  }
}
