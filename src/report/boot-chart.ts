// Boot time and its phases over the recent runs: a Mermaid `xychart-beta` block for the job
// summary (GitHub renders it), and the same figures as a Markdown table and as CSV for the
// artifact (boot-history.csv). Pure.
import type { BootHistoryRow } from '../model/index.js'
import { PHASES } from './boot-history.js'
import { escapeCell, table } from './markdown.js'

export const BOOT_HISTORY_FILE = 'boot-history.csv'

const fixed = (value: number | undefined): string => (value === undefined ? '' : value.toFixed(1))

/** Where each phase ends, in seconds since QEMU started (a phase not seen ends where it began). */
function phaseEnds(row: BootHistoryRow): number[] {
  let at = 0
  return PHASES.slice(0, -1).map(name => (at += row.phases[name] ?? 0))
}

/**
 * The chart: a bar per run for boot time (QEMU start to SSH answering), and a line per phase
 * boundary (kernel, init, network and sshd reached), so the gap between two lines is a phase.
 * This run is the last bar, labelled "this run".
 */
export function bootChart(rows: BootHistoryRow[], machine?: string): string {
  if (rows.length < 2) return ''
  const label = (text: string): string => `"${text.replace(/["\\]/g, '')}"`
  const top = Math.ceil(Math.max(...rows.map(row => row.bootSeconds)) * 1.1) || 1
  const ends = rows.map(phaseEnds)
  const lines = [
    'xychart-beta',
    `    title "Boot time (s), ${rows.length - 1} recent run${rows.length === 2 ? '' : 's'} and this one${machine ? `, ${machine.replace(/"/g, '')}` : ''}"`,
    `    x-axis [${rows.map(row => label(row.label)).join(', ')}]`,
    `    y-axis "seconds since QEMU started" 0 --> ${top}`,
    `    bar [${rows.map(row => fixed(row.bootSeconds)).join(', ')}]`,
    ...PHASES.slice(0, -1).map(
      (_name, i) => `    line [${ends.map(end => fixed(end[i])).join(', ')}]`
    )
  ]
  return ['```mermaid', ...lines, '```'].join('\n')
}

export const CHART_CAPTION =
  'Bars: boot time (QEMU start to SSH answering). Lines, bottom to top: kernel, init, network ' +
  'and sshd reached; the gap between two lines is a phase. The last bar is this run.'

/** The same figures as a Markdown table (this run in bold). */
export function bootHistoryTable(rows: BootHistoryRow[]): string {
  return table(
    ['Run', 'Finished', 'Boot (s)', ...PHASES.map(name => `${name} (s)`)],
    rows.map(row => {
      const name = escapeCell(row.label)
      return [
        row.current ? `**${name}**` : name,
        escapeCell(row.createdAt),
        fixed(row.bootSeconds),
        ...PHASES.map(phase => fixed(row.phases[phase]))
      ]
    })
  )
}

/** boot-history.csv: one line per run, oldest first, this run marked in `current`. */
export function bootHistoryCsv(rows: BootHistoryRow[]): string {
  const cell = (text: string): string =>
    /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
  const header = [
    'label',
    'run',
    'finished',
    'current',
    'boot_seconds',
    ...PHASES.map(n => `${n}_seconds`)
  ]
  const lines = rows.map(row =>
    [
      cell(row.label),
      cell(row.run ?? ''),
      cell(row.createdAt),
      row.current ? 'yes' : '',
      String(row.bootSeconds),
      ...PHASES.map(phase => (row.phases[phase] === undefined ? '' : String(row.phases[phase])))
    ].join(',')
  )
  return [header.join(','), ...lines].join('\n') + '\n'
}
