// What the hardening files' last full runs counted (.lab/reliability/<area>.json, written by
// reliability-tally.ts), as the README's "Reliability" table: read by scripts/reliability-tally.ts
// (`npm run reliability`) to print the table, and by tests/unit/readme-reliability.test.ts to
// check that the README's figures are that run's. No vitest here: a script imports it.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const TALLY_DIR = fileURLToPath(new URL('../../.lab/reliability/', import.meta.url))

/** One hardening file's full run: every test that ran to an end, and whether it passed. */
export interface TallyRecord {
  area: string
  /** When the file's run ended (ISO 8601). */
  ranAt: string
  /** The commit checked out (short hash), and whether the tree had uncommitted changes. */
  commit?: string
  dirty?: boolean
  cases: { name: string; behaved: boolean }[]
}

/** A row of the README's table: an area, or the Total. */
export interface ReliabilityRow {
  area: string
  tried: number
  behaved: number
}

export function tallyFile(area: string): string {
  return join(TALLY_DIR, `${area.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.json`)
}

/** Every record the last runs left, by area name; none when no hardening file has run in full. */
export function readTallies(dir = TALLY_DIR): TallyRecord[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter(name => name.endsWith('.json'))
    .sort()
    .map(name => JSON.parse(readFileSync(join(dir, name), 'utf8')) as TallyRecord)
}

/** The counted rows, by area name, then the Total. */
export function countedRows(records: TallyRecord[]): ReliabilityRow[] {
  const rows = [...records]
    .sort((a, b) => a.area.localeCompare(b.area))
    .map(record => ({
      area: record.area,
      tried: record.cases.length,
      behaved: record.cases.filter(c => c.behaved).length
    }))
  const total = (field: 'tried' | 'behaved'): number => rows.reduce((n, row) => n + row[field], 0)
  return [...rows, { area: 'Total', tried: total('tried'), behaved: total('behaved') }]
}

/** The table as the README holds it. */
export function renderTable(rows: ReliabilityRow[]): string {
  return [
    '| Area | Cases tried | Cases that behaved |',
    '| --- | --- | --- |',
    ...rows.map(row => `| ${row.area} | ${row.tried} | ${row.behaved} |`)
  ].join('\n')
}

/** The line under the table saying which runs counted it. */
export function renderProvenance(records: TallyRecord[]): string {
  const unique = (values: string[]): string => [...new Set(values)].sort().join(', ')
  const dates = unique(records.map(r => r.ranAt.slice(0, 10)))
  const commits = unique(
    records.map(r => `${r.commit ?? 'unknown'}${r.dirty ? ' with uncommitted changes' : ''}`)
  )
  return (
    `Counted by the runs of ${dates} (commit ${commits}); ` +
    '`npm run reliability` prints what the last runs counted.'
  )
}

/** The rows of the README's "## Reliability" table; undefined when the section has none. */
export function readmeRows(readme: string): ReliabilityRow[] | undefined {
  const section = /^## Reliability\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1]
  if (!section) return undefined
  return [...section.matchAll(/^\| ([A-Z][^|]*?) \| (\d+) \| (\d+) \|$/gm)].map(match => ({
    area: match[1],
    tried: Number(match[2]),
    behaved: Number(match[3])
  }))
}
