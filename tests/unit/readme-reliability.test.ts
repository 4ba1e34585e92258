// The README's "Reliability" figures are what a run counted, not the suite's tables restated:
// each hardening file records its last full run in .lab/reliability/<area>.json
// (tests/helpers/reliability-tally.ts), `npm run reliability` prints the table from those records,
// and this checks the README against them. Where no file has run in full on this machine (a
// fresh clone before the e2e tests) there is nothing to compare with: that test is skipped,
// and only the table's shape is checked.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/action-runner.js'
import {
  countedRows,
  readTallies,
  readmeRows,
  renderProvenance,
  renderTable,
  TALLY_DIR,
  type ReliabilityRow,
  type TallyRecord
} from '../helpers/reliability-records.js'

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
const records = readTallies()

/** The areas the e2e files count: the argument of each tallyCases('…') call. */
function talliedAreas(): string[] {
  const dir = join(REPO_ROOT, 'tests/e2e')
  return readdirSync(dir)
    .filter(name => name.endsWith('.test.ts'))
    .flatMap(name => [
      ...readFileSync(join(dir, name), 'utf8').matchAll(/tallyCases\('([^']+)'\)/g)
    ])
    .map(match => match[1])
    .sort()
}

describe('npm run reliability', () => {
  it('prints a table that, pasted into the README, reads back as the counted figures', () => {
    const record = (area: string, behaved: boolean[]): TallyRecord => ({
      area,
      ranAt: '2026-11-29T23:00:00.000Z',
      commit: 'f4f102a',
      dirty: true,
      cases: behaved.map((ok, n) => ({ name: `case ${n}`, behaved: ok }))
    })
    const records = [record('Secrets', [true, true]), record('Bad input', [true, false, true])]
    const printed = `${renderTable(countedRows(records))}\n\n${renderProvenance(records)}\n`
    const readme = `# x\n\n## Reliability\n\nText.\n\n${printed}\n## KVM\n`
    expect(readmeRows(readme)).toEqual([
      { area: 'Bad input', tried: 3, behaved: 2 },
      { area: 'Secrets', tried: 2, behaved: 2 },
      { area: 'Total', tried: 5, behaved: 4 }
    ])
    expect(printed).toContain(
      'Counted by the runs of 2026-11-29 (commit f4f102a with uncommitted changes)'
    )
  })
})

describe('the README\'s "Reliability" figures', () => {
  const rows = readmeRows(README)

  it('give one row per area a hardening file counts, and a Total that adds them up', () => {
    expect(rows, 'a "## Reliability" section with the table').toBeDefined()
    const areas = rows!.filter(row => row.area !== 'Total')
    expect(areas.map(row => row.area).sort()).toEqual(talliedAreas())
    const total = rows!.find(row => row.area === 'Total')
    expect(total, 'the "Total" row').toBeDefined()
    const sum = (field: 'tried' | 'behaved'): number => areas.reduce((n, r) => n + r[field], 0)
    expect(total).toEqual({ area: 'Total', tried: sum('tried'), behaved: sum('behaved') })
    expect(README).toMatch(/Counted by the runs of \d{4}-\d{2}-\d{2}.*\(commit [0-9a-f]{7,}/)
  })

  it.skipIf(records.length === 0)(`are what the last counting run recorded (${TALLY_DIR})`, () => {
    const byArea = new Map(rows!.map(row => [row.area, row]))
    const counted = countedRows(records).filter(row => row.area !== 'Total')
    const readme = counted.map(
      row => byArea.get(row.area) ?? ({ area: row.area } as ReliabilityRow)
    )
    expect(
      readme,
      'the README differs from what the hardening files counted when they last ran in full: ' +
        'run them, then paste `npm run reliability` into the README (a failed case counts too)'
    ).toEqual(counted)
  })
})
