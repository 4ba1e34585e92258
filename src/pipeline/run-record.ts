// report.json as the run goes: each stage's record lands as it ends, and the files are rewritten
// after each one, so a crash later loses nothing.
import type { Log } from '../shared/log.js'
import type {
  BuildResult,
  CacheResult,
  EnvDiffResult,
  QemuProvision,
  Report,
  SetupResult,
  StageJudgement,
  StageName,
  StageRecord,
  VmStageResult
} from '../model/index.js'
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
    this.judged(name, judge(result), Date.now() - started)
    this.save()
    return result
  }

  /** A stage left out, and why (input 'iso', input 'boot: false'). */
  skip(name: StageName, detail: string): void {
    this.report.stages[name] = { status: 'skipped', durationMs: 0, detail }
  }

  /** A stage's judgement, timed by the part that ran it. */
  judged(name: StageName, judgement: StageJudgement, durationMs: number): void {
    this.report.stages[name] = { ...judgement, durationMs }
  }

  setupDone(setup: SetupResult): void {
    this.report.setup = setup
  }

  /** QEMU's provisioning settled: its record and the stage's row. */
  qemuSettled(provision: QemuProvision, judgement: StageRecord): void {
    this.report.qemu = provision
    this.report.stages.qemu = judgement
  }

  /** How long the boot waited for `provision` (the report's QEMU record) once the image was ready. */
  qemuWaited(provision: QemuProvision, ms: number): void {
    provision.bootWaitedMs = ms
  }

  cacheRestored(cache: CacheResult): void {
    this.report.cache = cache
  }

  /** The builds so far, in the order they ran. */
  built(builds: BuildResult[]): void {
    this.report.builds = builds
  }

  /** The build was stopped for want of QEMU: only what it finished stays, the row says why. */
  buildStopped(detail: string): void {
    this.report.builds = this.report.builds.filter(build => build.status === 'passed')
    const build = this.report.stages.build
    this.report.stages.build = { ...(build ?? { durationMs: 0 }), status: 'skipped', detail }
  }

  envDiffed(result: EnvDiffResult): void {
    this.report.envDiff = result
  }

  /** The VM stage's record and the rows it judged (boot, probes, test). */
  booted(vm: VmStageResult, rows: Partial<Record<StageName, StageRecord>>): void {
    this.report.vm = vm
    Object.assign(this.report.stages, rows)
  }

  /** The run is over: complete, cancelled if it was. */
  finish(signal: AbortSignal): Report {
    this.report.complete = true
    if (signal?.aborted) this.report.cancelled = true
    this.save()
    return this.report
  }
}
