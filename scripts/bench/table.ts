// Part of `npm run bench` (scripts/bench.ts, the runner): statistics (median, min–max) and the
// figures' table.

export interface Stats {
  median: number
  min: number
  max: number
  n: number
}

export function stats(values: number[]): Stats | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length }
}

export type Unit = 'ratio' | 'ms' | 's' | 'bytes'

export function format(value: number, unit: Unit): string {
  switch (unit) {
    case 'ratio':
      return `${value.toFixed(3)}×`
    case 'ms':
      return `${Math.round(value)} ms`
    case 's':
      return `${value.toFixed(1)} s`
    case 'bytes':
      return value >= 1 << 20
        ? `${(value / (1 << 20)).toFixed(1)} MiB`
        : `${(value / 1024).toFixed(1)} KiB`
  }
}

export interface Target {
  /** The figure's median must stay at or under this. */
  max: number
  text: string
}

export interface Row {
  figure: string
  unit: Unit
  stats?: Stats
  target?: Target
  /** Why there is no figure. */
  notMeasured?: string
}

export function verdict(row: Row): string {
  if (!row.stats) return `not measured: ${row.notMeasured ?? 'no samples'}`
  if (!row.target) return '—'
  return row.stats.median <= row.target.max
    ? 'met'
    : `MISSED (${format(row.stats.median, row.unit)}, target ${row.target.text})`
}

export function cells(row: Row): string[] {
  const s = row.stats
  return [
    row.figure,
    s ? format(s.median, row.unit) : '—',
    s ? `${format(s.min, row.unit)} – ${format(s.max, row.unit)}` : '—',
    s ? String(s.n) : '0',
    row.target?.text ?? '—',
    verdict(row)
  ]
}

export const HEADER = ['figure', 'median', 'min – max', 'n', 'target', 'verdict']

export function textTable(rows: Row[]): string {
  const all = [HEADER, ...rows.map(cells)]
  const widths = HEADER.map((_, i) => Math.max(...all.map(r => r[i].length)))
  return all.map(r => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n')
}

export function markdownTable(header: string[], rows: string[][]): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|')
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(r => `| ${r.map(escape).join(' | ')} |`)
  ].join('\n')
}

export function say(message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}
