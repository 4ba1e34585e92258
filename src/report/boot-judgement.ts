// Is this boot slower than the recent runs? Pure. "Slower" means past the slowest of the recent
// passing runs of the same accelerator and firmware by more than an allowance: the largest of a
// floor in seconds, a percentage of their median (the slowdown-threshold input) and three times
// their spread (the median absolute deviation, scaled like a standard deviation). Then per phase, because load
// is not a regression and shows differently: measured here, a busy host stretched every CPU-bound
// phase alike (the fixture's boot went from 12 s to 24 s, and to 40–87 s when other guests ran),
// while a delay in one phase grows that phase alone. So a phase counts as slower when it is past
// its own runs' band both in seconds and once each run is scaled by how slow the rest of its boot
// was; a whole boot past its band with no such phase grew alike everywhere, like a busier host,
// and is said so, not counted. With too few runs, it says so and judges nothing.
import type { BootHistoryRow, BootJudgement, NoiseBand, PhaseJudgement } from '../model/index.js'
import {
  MIN_HISTORY_RUNS,
  PHASES,
  median,
  phasesOf,
  round,
  spread,
  type BaselineRun,
  type PhaseName
} from './boot-history.js'

/** A boot or a phase must pass its band by at least this much (a second or so is jitter). */
export const SLOWDOWN_FLOOR_SECONDS = 2
/**
 * ... and by this many times the runs' spread: about three standard deviations, as a spread from
 * a handful of runs is a rough one (three hogged runs in a row once spread 29–77 s).
 */
export const SPREAD_FACTOR = 3

const s = (value: number): string => `${value.toFixed(1)} s`
const range = (band: NoiseBand): string =>
  band.low === band.high ? s(band.low) : `${band.low.toFixed(1)}–${s(band.high)}`
const lastRuns = (band: NoiseBand): string =>
  band.runs === 1 ? 'the last run' : `the last ${band.runs} runs'`

function bandOf(values: number[]): NoiseBand {
  return {
    runs: values.length,
    low: Math.min(...values),
    high: Math.max(...values),
    median: round(median(values))
  }
}

function allowance(values: number[], percent: number): number {
  return round(
    Math.max(
      SLOWDOWN_FLOOR_SECONDS,
      (percent / 100) * median(values),
      SPREAD_FACTOR * spread(values)
    )
  )
}

/** How far value is past the values' band, and whether that is more than their allowance. */
function past(values: number[], value: number, percent: number) {
  const excess = round(value - Math.max(...values))
  const allowed = allowance(values, percent)
  return { excess, allowed, beyond: excess > allowed }
}

interface PhaseCheck {
  judgement: PhaseJudgement
  excess?: number
  allowed?: number
}

/**
 * Each phase of this boot against the same phase in the runs that saw the same milestones: in
 * seconds, and scaled by each boot's pace — the rest of that boot against the rest's median — so
 * that a phase which only grew with the load is not slower, and one that grew alone is.
 */
function judgePhases(window: BaselineRun[], current: BaselineRun, percent: number): PhaseCheck[] {
  const now = phasesOf(current.milestones, current.bootSeconds)
  const names = Object.keys(now).join()
  const then = window
    .map(run => ({ boot: run.bootSeconds, phases: phasesOf(run.milestones, run.bootSeconds) }))
    .filter(run => Object.keys(run.phases).join() === names)
  return PHASES.filter(name => now[name] !== undefined).map(name => {
    const seconds = now[name]!
    const values = then.map(run => run.phases[name]!)
    if (values.length < MIN_HISTORY_RUNS) return { judgement: { name, seconds, slower: false } }
    const raw = past(values, seconds, percent)
    const paced = pacedPast(then, current.bootSeconds, name, seconds, percent)
    const slower = raw.beyond && (paced?.beyond ?? true)
    return {
      judgement: { name, seconds, band: bandOf(values), slower },
      excess: raw.excess,
      allowed: raw.allowed
    }
  })
}

function pacedPast(
  then: { boot: number; phases: Partial<Record<PhaseName, number>> }[],
  boot: number,
  name: PhaseName,
  seconds: number,
  percent: number
) {
  const rest = then.map(run => run.boot - run.phases[name]!)
  const typical = median(rest)
  // A boot that is this one phase: there is no rest to tell its pace by.
  if (typical <= 0 || boot - seconds <= 0 || rest.some(r => r <= 0)) return undefined
  const paced = then.map((run, i) => run.phases[name]! / (rest[i] / typical))
  return past(paced, seconds / ((boot - seconds) / typical), percent)
}

/**
 * This boot against the window (the earlier runs of the same accelerator and firmware, this one
 * not among them). percent: the slowdown-threshold input.
 */
export function judgeBoot(
  window: BaselineRun[],
  current: BaselineRun,
  percent: number
): BootJudgement {
  const seconds = current.bootSeconds
  const machine = [current.accel?.toUpperCase(), current.firmware?.toUpperCase()]
    .filter(Boolean)
    .join(', ')
  const values = window.map(run => run.bootSeconds)
  const phases = judgePhases(window, current, percent)
  const base = { seconds, accel: current.accel, firmware: current.firmware }
  const judgements = { phases: phases.map(p => p.judgement) }
  if (values.length < MIN_HISTORY_RUNS) {
    return { ...base, ...judgements, ...tooLittleHistory(values, seconds, machine, percent) }
  }
  const band = bandOf(values)
  const allowed = allowance(values, percent)
  const of = `${lastRuns(band)} ${range(band)}${machine ? ` (${machine})` : ''}`
  return {
    ...base,
    band,
    allowanceSeconds: allowed,
    ...judgements,
    ...verdictAgainstBand({ seconds, band, allowed, of }, phases)
  }
}

/**
 * Under MIN_HISTORY_RUNS earlier runs: nothing is judged, but both times are said in words
 * ("Boot 20.3 s, against 10.4 s in the only earlier run with TCG: too little history to judge"),
 * and the allowance is kept so that a boot far from them still counts as a changed figure.
 */
function tooLittleHistory(
  values: number[],
  seconds: number,
  machine: string,
  percent: number
): Pick<BootJudgement, 'verdict' | 'band' | 'allowanceSeconds' | 'sentence'> {
  const withMachine = machine ? ` with ${machine}` : ''
  const needed = `(${MIN_HISTORY_RUNS} needed)`
  if (!values.length) {
    return {
      verdict: 'too-little-history',
      sentence: `Boot ${s(seconds)}; too little history to judge: no earlier passing run${withMachine} ${needed}.`
    }
  }
  const earlier =
    values.length === 1
      ? `${s(values[0])} in the only earlier run${withMachine}`
      : `${values.map(s).join(' and ')} in the ${values.length} earlier runs${withMachine}`
  return {
    verdict: 'too-little-history',
    band: bandOf(values),
    allowanceSeconds: allowance(values, percent),
    sentence: `Boot ${s(seconds)}, against ${earlier}: too little history to judge ${needed}.`
  }
}

/** A boot with enough history, its runs' band and the allowance past it. */
interface AgainstBand {
  seconds: number
  band: NoiseBand
  allowed: number
  /** The runs in words: "the last 5 runs' 8.1–11.0 s (TCG, BIOS)". */
  of: string
}

type Verdict = Pick<BootJudgement, 'verdict' | 'slowerPhases' | 'sentence'>

/**
 * Slower (the whole boot past its band with a phase to name, or with too few phases to tell
 * load from a delay; or one phase alone), slower throughout (every phase grew alike: load),
 * faster, or within the noise.
 */
function verdictAgainstBand(against: AgainstBand, phases: PhaseCheck[]): Verdict {
  const { seconds, band, allowed, of } = against
  const named = phases
    .filter(p => p.judgement.slower)
    .sort((a, b) => (b.excess ?? 0) - (a.excess ?? 0))
  const judged = phases.filter(p => p.judgement.band).length
  if (seconds > band.high + allowed && (named.length || judged < 2)) {
    return {
      verdict: 'slower',
      slowerPhases: named.map(p => p.judgement.name),
      sentence:
        `Boot is slower: ${s(seconds)}, past ${of} by ${s(seconds - band.high)} (${s(allowed)} allowed)` +
        (named.length ? `; slower in ${named.map(phaseText).join(', ')}.` : '.')
    }
  }
  if (named.length) {
    // The whole boot is within its noise, but one phase grew alone: a delay the load elsewhere hides.
    return {
      verdict: 'slower',
      slowerPhases: named.map(p => p.judgement.name),
      sentence: slowerInPhaseSentence(named, seconds, of)
    }
  }
  if (seconds > band.high + allowed) {
    return {
      verdict: 'slower-throughout',
      sentence: `Boot ${s(seconds)} is past ${of} by ${s(seconds - band.high)}, but every phase grew alike, as on a busier host: not counted as a regression.`
    }
  }
  if (seconds < band.low - allowed) {
    return {
      verdict: 'faster',
      sentence: `Boot is faster: ${s(seconds)}, under ${of} by ${s(band.low - seconds)}.`
    }
  }
  const inside = seconds >= band.low && seconds <= band.high
  return {
    verdict: 'within-noise',
    sentence: inside
      ? `Boot ${s(seconds)}, within ${of}.`
      : `Boot ${s(seconds)}, within the noise of ${of}: ${s(allowed)} allowed either side.`
  }
}

/** "init 4.1 s (was 2.0–2.4 s)" */
const phaseText = (p: PhaseCheck): string =>
  `${p.judgement.name} ${s(p.judgement.seconds)} (was ${range(p.judgement.band!)})`

/** The sentence for phases slower while the whole boot is within its noise (slowest first). */
function slowerInPhaseSentence(named: PhaseCheck[], seconds: number, of: string): string {
  const [first, ...more] = named
  const phaseBand = first.judgement.band!
  return (
    `Boot is slower in ${first.judgement.name}: ${s(first.judgement.seconds)}, past ${lastRuns(phaseBand)} ` +
    `${range(phaseBand)} by ${s(first.excess!)} (${s(first.allowed!)} allowed)` +
    (more.length ? `, and in ${more.map(phaseText).join(', ')}` : '') +
    `; the whole boot, ${s(seconds)}, is within the noise of ${of}.`
  )
}

/** The window and this run as chart and table rows, oldest first. */
export function historyRows(window: BaselineRun[], current?: BaselineRun): BootHistoryRow[] {
  const row = (run: BaselineRun, label: string, isCurrent: boolean): BootHistoryRow => ({
    label,
    createdAt: run.createdAt,
    run: run.run,
    ...(isCurrent ? { current: true } : {}),
    bootSeconds: run.bootSeconds,
    phases: phasesOf(run.milestones, run.bootSeconds) as Record<string, number>
  })
  const rows = window.map(run => row(run, run.label ?? shortTime(run.createdAt), false))
  if (current) rows.push(row(current, 'this run', true))
  return rows
}

/** "11-25 18:05" from an ISO time (a run with no run number, such as the command line's). */
function shortTime(iso: string): string {
  const match = /^\d{4}-(\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso)
  return match ? `${match[1]} ${match[2]}` : iso.slice(0, 16)
}
