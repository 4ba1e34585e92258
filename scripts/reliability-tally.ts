// `npm run reliability`: prints the README's "Reliability" table from what the hardening files
// recorded when they last ran in full (tests/helpers/reliability-tally.ts): a case is tried when
// its test ran to an end, and behaved when it passed. An area whose file never ran in full is
// missing, not guessed. Paste the table and the line under it into the README;
// tests/unit/readme-reliability.test.ts checks that they are the recorded ones.
import {
  countedRows,
  readTallies,
  renderProvenance,
  renderTable,
  TALLY_DIR
} from '../tests/helpers/reliability-records.js'

const records = readTallies()
if (records.length === 0) {
  console.error(
    `No counts in ${TALLY_DIR}: run the hardening files first ` +
      '(npx vitest run tests/e2e/hardening-*.test.ts tests/e2e/results-service-faults.test.ts).'
  )
  process.exit(1)
}
console.log(renderTable(countedRows(records)))
console.log()
console.log(renderProvenance(records))
for (const record of records) {
  console.error(`${record.area}: ran ${record.ranAt} at ${record.commit ?? 'unknown commit'}`)
  for (const c of record.cases.filter(c => !c.behaved)) {
    console.error(`misbehaved: ${record.area}: ${c.name}`)
  }
}
