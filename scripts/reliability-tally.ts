// Prints the README's "Reliability" table from what the hardening tests recorded when they last
// ran (tests/helpers/reliability-tally.ts): a case is tried when its test ran to an end, and
// behaved when it passed. An area whose file never ran in full is missing, not guessed.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where tests/helpers/reliability-tally.ts writes (that module needs vitest, so not imported). */
const TALLY_DIR = fileURLToPath(new URL('../.lab/reliability/', import.meta.url))

interface Tally {
  area: string
  ranAt: string
  cases: { name: string; behaved: boolean }[]
}

const tallies: Tally[] = readdirSync(TALLY_DIR)
  .filter(name => name.endsWith('.json'))
  .map(name => JSON.parse(readFileSync(join(TALLY_DIR, name), 'utf8')) as Tally)
let tried = 0
let behaved = 0
console.log('| Area | Cases tried | Cases that behaved | Run at |\n| --- | --- | --- | --- |')
for (const tally of tallies) {
  const ok = tally.cases.filter(c => c.behaved).length
  tried += tally.cases.length
  behaved += ok
  console.log(`| ${tally.area} | ${tally.cases.length} | ${ok} | ${tally.ranAt} |`)
}
console.log(`| Total | ${tried} | ${behaved} | |`)
for (const tally of tallies) {
  for (const c of tally.cases.filter(c => !c.behaved))
    console.log(`misbehaved: ${tally.area}: ${c.name}`)
}
