// Types only: the comparison with the last passing run (the regression view), part of report.json
// (schema: docs/report-schema.md). Imports only image-changes.ts, which imports nothing.
import type { ImageChanges } from './image-changes.js'
// ---- comparison with the last passing run (the baseline) ---------------------------------------

export interface Regression {
  /**
   * What changed: 'result', 'boot-time', 'iso-size', 'closure-size', 'failed-unit', 'resolved-unit',
   * 'system-state', 'probe-result', 'probe-output', 'probe-added', 'probe-removed', 'nix-version',
   * 'accelerator', 'test'; what the image was made of: 'input', 'commit', 'packages' (never
   * regressions: the suspects of one).
   */
  kind: string
  /** One line a human reads. */
  summary: string
  /** The probe or unit it is about. */
  subject?: string
  before?: string | number
  after?: string | number
}

export interface ComparisonChange extends Regression {
  /** Counts as a regression (and is in `regressions`). */
  regression: boolean
  /** A short unified diff of a probe's normalised output. */
  diff?: string
}

/** A number then and now (boot seconds, bytes). */
export interface ComparedValue {
  before?: number
  after?: number
  /** after - before relative to before, in percent (when both are known and before > 0). */
  deltaPercent?: number
}

export interface Comparison {
  status: 'no-baseline' | 'unchanged' | 'changed' | 'error' | 'off'
  /** Where the baseline came from (a cache key or a file). */
  baselineSource?: string
  /** When the baseline's run finished, and which run it was. */
  baselineCreatedAt?: string
  baselineRun?: string
  detail: string
  /** The changes that count as regressions (the `regressions` output). */
  regressions: Regression[]
  /** Every difference found, regressions included, in reading order. */
  changes?: ComparisonChange[]
  bootSeconds?: ComparedValue
  isoBytes?: ComparedValue
  closureBytes?: ComparedValue
  /** The slowdown (percent) above which boot time counts as a regression. */
  slowdownThresholdPercent?: number
  /** Boot time judged against the recent passing runs (absent when this run did not boot). */
  boot?: BootJudgement
  /** Those runs and this one, oldest first: the chart and boot-history.csv. */
  history?: BootHistoryRow[]
  /** What the image was made of, then and now (inputs, commit, packages) and the suspects. */
  imageChanges?: ImageChanges
}

/** The boot times (or one phase's) of the recent passing runs of the same accelerator and firmware. */
export interface NoiseBand {
  runs: number
  low: number
  high: number
  median: number
}

export interface PhaseJudgement {
  /** firmware, kernel, init, network or sshd: from its milestone to the next one seen. */
  name: string
  seconds: number
  band?: NoiseBand
  /** Beyond its band by more than its allowance. */
  slower: boolean
}

export interface BootJudgement {
  /** slower-throughout: past the band, but every phase grew alike (load): not a regression. */
  verdict: 'slower' | 'slower-throughout' | 'faster' | 'within-noise' | 'too-little-history'
  seconds: number
  /** The Accelerator (model.ts) the boot ran under; spelled out so this file imports nothing. */
  accel?: 'kvm' | 'tcg'
  firmware?: string
  /** Absent when there is no earlier run. */
  band?: NoiseBand
  /** How far past the band boot time may go: the largest of the floor in seconds, the percent
   * floor (of the median) and three times the runs' spread (scaled median absolute deviation). */
  allowanceSeconds?: number
  phases: PhaseJudgement[]
  /** The phases named as slower (slowest first), when the verdict is slower. */
  slowerPhases?: string[]
  /** One sentence, e.g. "Boot 10.4 s, within the last 5 runs' 8.1–11.0 s." */
  sentence: string
}

export interface BootHistoryRow {
  /** "#123", a time, or "this run". */
  label: string
  createdAt: string
  run?: string
  current?: boolean
  bootSeconds: number
  /** Phase name → seconds. */
  phases: Record<string, number>
}
