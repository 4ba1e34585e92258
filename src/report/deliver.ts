// Delivering the report: its files, the artifact and the job summary. Main does it when it ends;
// post does it alone when main never got that far (a runner's cancel SIGKILLs main 10 s after its
// SIGINT, and post still runs), so a report reaches the user on every path.
import * as core from '@actions/core'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Inputs } from '../inputs/index.js'
import type { Log } from '../shared/log.js'
import type { Report, Result, StageName } from '../model/index.js'
import { errorMessage } from '../shared/process.js'
import type { Secrets } from '../shared/secrets.js'
import { uploadReport } from './artifacts.js'
import { writeReportFiles } from './report-file.js'
import { renderSummary } from './summary.js'

export interface DeliveryOptions {
  mode: Inputs['upload']
  name: string
  retentionDays?: number
  secrets: Secrets
  log: Log
  /** Where the job summary goes (main's and post's runner); default: @actions/core's. */
  writeSummary?: (markdown: string) => Promise<void>
}

const coreSummary = async (markdown: string): Promise<void> => {
  await core.summary.addRaw(markdown).write()
}

/** A finished report with nothing in it yet: what is delivered when no stage wrote one. */
export function emptyReport(
  result: Result = 'setup-failed',
  decidedBy: StageName = 'setup'
): Report {
  const now = new Date().toISOString()
  return {
    schemaVersion: 1,
    result,
    decidedBy,
    complete: true,
    startedAt: now,
    finishedAt: now,
    stages: {},
    builds: []
  }
}

/** The report.json the stages last wrote, or undefined when there is none to read. */
export function readReport(reportDir: string): Report | undefined {
  try {
    return JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report
  } catch {
    return undefined
  }
}

/** report.json and summary.md; a full or failing disk costs a warning, never the delivery. */
export function writeReport(report: Report, reportDir: string, log: Log): string {
  const summary = renderSummary(report)
  try {
    writeReportFiles(reportDir, report, summary)
  } catch (error) {
    log.warning(`The report files were not written to ${reportDir}: ${errorMessage(error)}`)
  }
  return summary
}

/**
 * Writes the report files, uploads the report directory as the input asks, then writes the files
 * again (now with the upload's outcome) and the job summary.
 */
export async function deliverReport(
  report: Report,
  reportDir: string,
  options: DeliveryOptions
): Promise<void> {
  const { mode, name, retentionDays, secrets, log, writeSummary = coreSummary } = options
  writeReport(report, reportDir, log)
  const wanted = mode === 'always' || (mode === 'failure' && report.result !== 'passed')
  report.upload = wanted
    ? await uploadReport({ reportDir, name, retentionDays, secrets, log })
    : { status: 'skipped', detail: `upload: ${mode}`, withheld: [] }
  report.stages.upload = {
    status:
      report.upload.status === 'failed'
        ? 'warning'
        : report.upload.status === 'skipped'
          ? 'skipped'
          : 'passed',
    durationMs: 0,
    detail: report.upload.detail
  }
  // The uploaded copy says the upload was under way; the job summary and the local copy say how it went.
  const summary = writeReport(report, reportDir, log)
  try {
    await writeSummary(summary)
  } catch (error) {
    log.warning(`The job summary was not written: ${errorMessage(error)}`)
  }
}
