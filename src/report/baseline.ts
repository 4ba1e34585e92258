// The baseline: what a passing run keeps so that the next run can say what changed. A small,
// versioned summary of report.json plus each probe's normalised output, and the boot times of the
// last few passing runs (its window, boot-history.ts). Pure: a Report and a way to read probe files
// in, a Baseline out (schema: docs/report-schema.md, "baseline.json").
import { createHash } from 'node:crypto'
import type { Accelerator, ImageComposition, Report, Result } from '../model/index.js'
import { mergeHistory, runLabel, type BaselineRun } from './boot-history.js'
import { normaliseProbeOutput } from './probe-normalise.js'

export { normaliseProbeOutput }

/**
 * 2 added the window (`history`) and `firmware`, then (optional, so still 2) what the image was
 * made of: `inputs`, `commit`, `packages`, `buildPackages`, `packageBytes`. Version 1 files are
 * still read.
 */
export const BASELINE_SCHEMA_VERSION = 2
/** Normalised output kept per probe for the diff; the digest always covers the whole output. */
export const BASELINE_OUTPUT_MAX_CHARS = 8 * 1024

export interface BaselineProbe {
  name: string
  required: boolean
  exitCode: number | null
  timedOut: boolean
  missing: boolean
  /** sha256 (hex, first 16) of the whole normalised output; absent when the file was unreadable. */
  digest?: string
  /** The normalised output, cut at BASELINE_OUTPUT_MAX_CHARS. */
  output?: string
  truncated?: boolean
}

export interface BaselineImage {
  flake?: string
  attribute?: string
  drvPath?: string
  outPath?: string
  isoPath?: string
  isoBytes?: number
  closureBytes?: number
}

/** What the image was made of (ImageComposition) is absent from older baselines. */
export interface Baseline extends ImageComposition {
  schemaVersion: typeof BASELINE_SCHEMA_VERSION
  /** The finishedAt of the run it was taken from. */
  createdAt: string
  /** Which run, in words (e.g. "octo/repo run 123 attempt 1 on main"). */
  run?: string
  result: Result
  image: BaselineImage
  nix?: { version: string; variant: string }
  accel?: Accelerator
  /** The `firmware` input (bios, uefi); absent in version 1 baselines. */
  firmware?: string
  bootSeconds?: number
  /** Boot timeline: milestone name → seconds since QEMU started. */
  milestones: Record<string, number>
  /**
   * The recent passing runs, this one included when it passed, oldest first: the newest
   * HISTORY_RUNS per accelerator and firmware. Boot time is judged against them.
   */
  history: BaselineRun[]
  /** From the `failed-units` probe; absent when no such probe ran. */
  failedUnits?: string[]
  /** From the `system-state` probe (systemctl is-system-running); absent when none ran. */
  systemState?: string
  /** Absent when the run never reached the probes. */
  probes?: BaselineProbe[]
  test?: { exitCode: number | null; timedOut: boolean }
}

/** What the report does not hold: the image attribute, sizes, the run. */
export interface BaselineFacts {
  flake?: string
  attribute?: string
  isoBytes?: number
  closureBytes?: number
  run?: string
  firmware?: string
  /** What the image was made of: its inputs, the commit, its packages (build/index.ts). */
  composition?: ImageComposition
}

/** Reads a probe's saved output by its report-relative path; undefined when it cannot. */
export type ReadProbeOutput = (file: string) => string | undefined

/** probes/<name>.txt without its header (exit code and duration are kept as numbers instead). */
export function probeOutputBody(text: string): string {
  const start = text.indexOf('--- stdout ---')
  return start >= 0 ? text.slice(start) : text
}

export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}

/** Unit names from `systemctl list-units --failed --plain` (or without --plain). */
export function parseFailedUnits(text: string): string[] {
  const units = new Set<string>()
  for (const line of text.split('\n')) {
    const match =
      /^\s*(?:[●*×x]\s+)?(\S+\.(?:service|socket|mount|automount|swap|target|timer|path|device|scope|slice))\s+\S+\s+failed\b/.exec(
        line
      )
    if (match) units.add(match[1])
  }
  return [...units].sort()
}

/** The last non-empty stdout line of `systemctl is-system-running` (running, degraded, …). */
export function parseSystemState(text: string): string | undefined {
  const lines = stdoutOf(text)
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
  const last = lines.at(-1)
  return last && /^[a-z-]+$/.test(last) ? last : undefined
}

function stdoutOf(text: string): string {
  return /--- stdout ---\n([\s\S]*?)(?:\n--- stderr ---|$)/.exec(text)?.[1] ?? text
}

/** The baseline of a run (passing or not: the comparison uses the current run's too). */
export function baselineFrom(
  report: Report,
  readProbeOutput: ReadProbeOutput,
  facts: BaselineFacts = {}
): Baseline {
  const build =
    report.builds.find(b => b.status === 'passed' && b.outPath) ??
    report.builds.find(b => b.drvPath) ??
    report.builds[0]
  const image: BaselineImage = {
    flake: facts.flake,
    attribute: facts.attribute,
    drvPath: build?.drvPath,
    outPath: build?.outPath,
    isoPath: build?.isoPath,
    isoBytes: facts.isoBytes,
    closureBytes: facts.closureBytes
  }
  const vm = report.vm
  const boot = vm?.boot
  const baseline: Baseline = {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    createdAt: report.finishedAt || report.startedAt,
    run: facts.run,
    result: report.result,
    image,
    nix: report.setup?.nix
      ? { version: report.setup.nix.version, variant: report.setup.nix.variant }
      : undefined,
    accel: boot?.accel,
    firmware: facts.firmware,
    bootSeconds: boot?.status === 'passed' ? boot.bootSeconds : undefined,
    milestones: Object.fromEntries((boot?.timeline ?? []).map(m => [m.name, m.seconds])),
    history: [],
    test: vm?.test ? { exitCode: vm.test.exitCode, timedOut: vm.test.timedOut } : undefined,
    ...facts.composition
  }
  const run = runOf(baseline)
  if (run) baseline.history = [run]
  if (vm && boot?.status === 'passed') {
    baseline.probes = vm.probes.map(probe => {
      const text = readProbeOutput(probe.file)
      const entry: BaselineProbe = {
        name: probe.name,
        required: probe.required,
        exitCode: probe.exitCode,
        timedOut: probe.timedOut,
        missing: probe.missing
      }
      if (text === undefined) return entry
      const normalised = normaliseProbeOutput(probeOutputBody(text))
      entry.digest = digest(normalised)
      entry.output = normalised.slice(0, BASELINE_OUTPUT_MAX_CHARS)
      if (normalised.length > BASELINE_OUTPUT_MAX_CHARS) entry.truncated = true
      const ran = !probe.missing && !probe.timedOut
      if (probe.name === 'failed-units' && ran)
        baseline.failedUnits = parseFailedUnits(stdoutOf(text))
      if (probe.name === 'system-state' && ran) baseline.systemState = parseSystemState(text)
      return entry
    })
  }
  return baseline
}

/** baseline.json's text (two-space indentation, a final newline). */
export function baselineJson(baseline: Baseline): string {
  return JSON.stringify(baseline, null, 2) + '\n'
}

/** Parses baseline.json; throws a message that says what is wrong (not JSON, another version). */
export function parseBaseline(text: string): Baseline {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('not a baseline object')
  }
  const candidate = value as Partial<Omit<Baseline, 'schemaVersion'>> & { schemaVersion?: unknown }
  if (candidate.schemaVersion !== 1 && candidate.schemaVersion !== BASELINE_SCHEMA_VERSION) {
    throw new Error(
      `schemaVersion ${String(candidate.schemaVersion)} is not 1 or ${BASELINE_SCHEMA_VERSION} (written by another version of boot-image-vm)`
    )
  }
  if (typeof candidate.createdAt !== 'string' || typeof candidate.image !== 'object') {
    throw new Error('createdAt or image is missing')
  }
  const baseline = {
    ...candidate,
    schemaVersion: BASELINE_SCHEMA_VERSION,
    milestones: candidate.milestones ?? {},
    history: []
  } as Baseline
  // Version 1 kept one run: its window is that run. A malformed entry is left out, not fatal.
  const runs = candidate.schemaVersion === 1 ? [runOf(baseline)] : (candidate.history ?? [])
  baseline.history = (Array.isArray(runs) ? runs : []).filter(isRun)
  return baseline
}

function isRun(run: unknown): run is BaselineRun {
  const r = run as Partial<BaselineRun> | undefined
  return (
    typeof r?.createdAt === 'string' &&
    typeof r.bootSeconds === 'number' &&
    Number.isFinite(r.bootSeconds) &&
    typeof r.milestones === 'object' &&
    r.milestones !== null
  )
}

/** The baseline's own run as a window entry; undefined unless it passed and booted. */
export function runOf(baseline: Baseline): BaselineRun | undefined {
  return baseline.result === 'passed' ? bootOf(baseline) : undefined
}

/** The baseline's boot as a window entry, whatever the result; undefined when it did not boot. */
export function bootOf(baseline: Baseline): BaselineRun | undefined {
  if (baseline.bootSeconds === undefined) return undefined
  return {
    createdAt: baseline.createdAt,
    run: baseline.run,
    label: runLabel(baseline.run),
    accel: baseline.accel,
    firmware: baseline.firmware,
    bootSeconds: baseline.bootSeconds,
    milestones: baseline.milestones
  }
}

/** What this run saves: itself, with the window of the baseline it was compared with. */
export function withHistory(current: Baseline, earlier: Baseline | undefined): Baseline {
  return { ...current, history: mergeHistory(earlier?.history ?? [], runOf(current)) }
}
