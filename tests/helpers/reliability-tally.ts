// Counts what a hardening test file really ran: after the file, every test that ran is written to
// .lab/reliability/<area>.json with whether it passed, and the commit it ran on.
// `npm run reliability` (scripts/reliability-tally.ts) prints the README's "Reliability" table
// from these files, and tests/unit/readme-reliability.test.ts checks the README against them —
// counted by the run, not restated from the tables.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { afterAll } from 'vitest'
import { REPO_ROOT } from './action-runner.js'
import { TALLY_DIR, tallyFile, type TallyRecord } from './reliability-records.js'

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

/** The checked-out commit and whether the tree differs from it; nothing outside a git tree. */
function checkout(): Pick<TallyRecord, 'commit' | 'dirty'> {
  const git = (args: string[]): string =>
    execFileSync('git', args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    })
  try {
    const commit = git(['rev-parse', '--short', 'HEAD']).trim()
    return { commit, dirty: git(['status', '--porcelain', '--untracked-files=no']).trim() !== '' }
  } catch {
    return {}
  }
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
    const record: TallyRecord = { area, ranAt: new Date().toISOString(), ...checkout(), cases }
    writeFileSync(tallyFile(area), JSON.stringify(record, null, 2))
  })
}
