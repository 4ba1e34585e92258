// The recent passing runs a baseline carries (its window), and a boot's phases. Pure. One run's
// boot time says little under shared runners and TCG (back to back boots vary by half), so boot
// time is judged against several runs of the same image, accelerator and firmware.
import type { Accelerator, BootMilestone } from '../model/index.js'

/** Runs kept per accelerator and firmware: enough for a spread, small enough to stay recent. */
export const HISTORY_RUNS = 8
/** Fewer earlier runs than this and boot time is not judged (one or two runs show no spread). */
export const MIN_HISTORY_RUNS = 3

export type PhaseName = Exclude<BootMilestone['name'], 'ready'>
/** A phase runs from its milestone to the next one seen (the last to SSH answering). */
export const PHASES: readonly PhaseName[] = ['firmware', 'kernel', 'init', 'network', 'sshd']

/** One passing run in a baseline's window. */
export interface BaselineRun {
  /** The finishedAt of the run. */
  createdAt: string
  /** Which run, in words; `label` is its short form for a chart ("#123", "#123.2"). */
  run?: string
  label?: string
  accel?: Accelerator
  firmware?: string
  /** Seconds from QEMU's start to SSH answering. */
  bootSeconds: number
  /** Milestone name → seconds since QEMU started. */
  milestones: Record<string, number>
}

/** What the window is kept by: the accelerator and the firmware (unknown matches either). */
export function sameMachine(
  a: { accel?: Accelerator; firmware?: string },
  b: { accel?: Accelerator; firmware?: string }
): boolean {
  return a.accel === b.accel && (!a.firmware || !b.firmware || a.firmware === b.firmware)
}

/**
 * The window after this run: the earlier runs plus this one, the newest HISTORY_RUNS of each
 * accelerator and firmware, oldest first. A run already in the window (a re-read) is not doubled.
 */
export function mergeHistory(earlier: BaselineRun[], run: BaselineRun | undefined): BaselineRun[] {
  const all = run
    ? [...earlier.filter(r => !(r.createdAt === run.createdAt && r.run === run.run)), run]
    : [...earlier]
  const kept: BaselineRun[] = []
  for (let i = all.length - 1; i >= 0; i--) {
    const same = kept.filter(r => r.accel === all[i].accel && r.firmware === all[i].firmware)
    if (same.length < HISTORY_RUNS) kept.unshift(all[i])
  }
  return kept
}

/** "#123" (or "#123.2" for a re-run) from "octo/repo run 123 attempt 2 on main"; else undefined. */
export function runLabel(run: string | undefined): string | undefined {
  const match = /\brun (\d+)(?: attempt (\d+))?/.exec(run ?? '')
  if (!match) return undefined
  return match[2] && match[2] !== '1' ? `#${match[1]}.${match[2]}` : `#${match[1]}`
}

/**
 * Each phase's seconds: from its milestone (the firmware's from QEMU's start) to the next
 * milestone seen, the last one to SSH answering. A milestone not seen, or seen after SSH
 * answered, is no boundary: its time stays in the phase before.
 */
export function phasesOf(
  milestones: Record<string, number>,
  bootSeconds: number
): Partial<Record<PhaseName, number>> {
  const starts = PHASES.map(name => ({
    name,
    at: name === 'firmware' ? 0 : milestones[name]
  }))
    .filter((s): s is { name: PhaseName; at: number } => s.at !== undefined && s.at <= bootSeconds)
    .sort((a, b) => a.at - b.at)
  const phases: Partial<Record<PhaseName, number>> = {}
  starts.forEach((start, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].at : bootSeconds
    phases[start.name] = round(end - start.at)
  })
  return phases
}

export const round = (value: number): number => Math.round(value * 1000) / 1000

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Median absolute deviation, scaled (×1.4826) to read like a standard deviation. */
export function spread(values: number[]): number {
  const m = median(values)
  return 1.4826 * median(values.map(v => Math.abs(v - m)))
}
