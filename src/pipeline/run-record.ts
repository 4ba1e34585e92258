// report.json as the run goes: each stage's record lands as it ends, and the files are rewritten
// after each one, so a crash later loses nothing.
import type { Log } from '../shared/log.js'
import type { Report, StageJudgement, StageName } from '../model/index.js'
import { renderSummary, writeReportFiles } from '../report/index.js'
import { decideVerdict } from './decide-verdict.js'

export class RunRecord {
  readonly report: Report

  constructor(
    private readonly reportDir: string,
    readonly startedAt = Date.now()
  ) {
    this.report = {
      schemaVersion: 1,
      result: 'passed',
      decidedBy: null,
      complete: false,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: '',
      stages: {},
      builds: []
    }
  }

  /** The verdict so far, and report.json and summary.md rewritten. */
  save(): void {
    Object.assign(this.report, decideVerdict(this.report), { finishedAt: new Date().toISOString() })
    writeReportFiles(this.reportDir, this.report, renderSummary(this.report))
  }

  /** One stage in its own log group, judged by the stage's own judge, timed here. */
  async stage<T>(
    log: Log,
    name: StageName,
    title: string,
    work: () => Promise<T>,
    judge: (result: T) => StageJudgement
  ): Promise<T> {
    const started = Date.now()
    const result = await log.group(title, work)
    this.report.stages[name] = { ...judge(result), durationMs: Date.now() - started }
    this.save()
    return result
  }

  /** The run is over: complete, cancelled if it was. */
  finish(signal: AbortSignal): Report {
    this.report.complete = true
    if (signal?.aborted) this.report.cancelled = true
    this.save()
    return this.report
  }
}
