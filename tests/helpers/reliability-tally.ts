// Counts what a hardening test file really ran: after the file, every test that ran is written to
// .lab/reliability/<area>.json with whether it passed. scripts/reliability-tally.ts prints the
// README's "Reliability" figures from these files — counted by the run, not restated from tables.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'

export const TALLY_DIR = fileURLToPath(new URL('../../.lab/reliability/', import.meta.url))

interface Task {
  type: string
  name: string
  mode?: string
  result?: { state?: string }
  tasks?: Task[]
}

function tests(task: Task): Task[] {
  return task.type === 'test' ? [task] : (task.tasks ?? []).flatMap(tests)
}

/** Call once at the top of a hardening test file; area is its row in the README's table. */
export function tallyCases(area: string): void {
  afterAll(suite => {
    const cases = tests(suite as unknown as Task)
      .filter(test => test.result?.state === 'pass' || test.result?.state === 'fail')
      .map(test => ({ name: test.name, behaved: test.result!.state === 'pass' }))
    // A filtered run (-t) counts only part of the file: it is not the figure, so it is not kept.
    if (cases.length < tests(suite as unknown as Task).length) return
    mkdirSync(TALLY_DIR, { recursive: true })
    const file = join(TALLY_DIR, `${area.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.json`)
    writeFileSync(file, JSON.stringify({ area, ranAt: new Date().toISOString(), cases }, null, 2))
  })
}
