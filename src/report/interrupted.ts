// The report of a main step that never finished: the runner SIGKILLs main 10 s after its cancel
// (and a crash can end it too), but the stages wrote report.json as they went. Post completes that
// report so that the verdict, the summary and the artifact still reach the user.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Report } from '../model/index.js'
import type { Secrets } from '../shared/secrets.js'
import { emptyReport, readReport } from './deliver.js'

/** What post says of a main that stopped before it delivered its report. */
export function interruptedReport(
  reportDir: string,
  cancelled: boolean,
  decide: (report: Report) => Pick<Report, 'result' | 'decidedBy'>
): Report {
  const report = readReport(reportDir) ?? emptyReport()
  report.complete = true
  report.finishedAt = new Date().toISOString()
  // Whatever main did not finish did not pass.
  report.cancelled = true
  report.error = cancelled
    ? 'The run was cancelled and its main step was stopped before it finished: the post step completed this report from what the stages had written.'
    : 'The main step ended before it finished (killed or crashed): the post step completed this report from what the stages had written.'
  return Object.assign(report, decide(report))
}

/** Every private key under the run's key directory: the upload's secret scan must know them. */
export function addPrivateKeys(keyDir: string, secrets: Secrets): void {
  let entries: string[]
  try {
    entries = readdirSync(keyDir, { recursive: true, encoding: 'utf8' })
  } catch {
    return
  }
  for (const entry of entries.filter(name => name.endsWith('id_ed25519'))) {
    try {
      secrets.add(readFileSync(join(keyDir, entry), 'utf8'))
    } catch {
      // A directory or an unreadable file: nothing to scan for.
    }
  }
}
