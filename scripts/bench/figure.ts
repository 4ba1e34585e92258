// What a figure of `npm run bench` is: the boots it needs in each round, an optional cheap sample
// (taken once per cheap repetition, interleaved with the other figures'), an optional measurement
// of its own before the boots, and its rows from everything this run measured.
import type { ActionScripts } from '../../tests/helpers/action-runner.js'
import type { BootSample, Variant } from './boots.js'
import type { Row } from './table.js'

export interface ColdStart {
  firstByteMs: number
  /** The first line a reader of the job log sees (`::add-mask::` lines are hidden). */
  firstVisibleMs?: number
  firstLine: string
}

export interface Handshakes {
  /** The action's readiness check (waitForSsh from src/vm/ssh.ts). */
  ssh2: number[]
  /** One bare ssh2 client running `true` (tests/helpers/lab.ts sshExec), without the retry loop. */
  ssh2Plain: number[]
  openssh: number[]
}

/** One run of scripts/bench/memory-probe.ts. */
export interface MemorySample {
  what: string
  peakRssBytes: number
  /** Heap and buffers after a full collection, while the handling still holds what it kept. */
  retainedBytes?: number
  inputBytes: number
  ms: number
}

export interface KvmSample {
  ms: number
  runsGuest: boolean
  reason: string
}

/** Everything this run measured, shared by the figures (the boots serve several). */
export interface BenchData {
  samples: BootSample[]
  /** The passing boots of one variant. */
  of(variant: Variant): BootSample[]
  cacheNotWired?: string
  kvmSamples: KvmSample[]
  memorySamples: MemorySample[]
  coldSamples: { action: ColdStart; bareNode: ColdStart }[]
  handshakes: Handshakes
}

/** The bundled action (a copy of dist/) and the fixture flake every boot uses. */
export interface BenchRun {
  scripts: ActionScripts
  flake: string
}

export interface Figure {
  name: string
  units: Variant[][]
  cheap?(data: BenchData, run: BenchRun): Promise<string>
  before?(data: BenchData, run: BenchRun): Promise<void>
  rows(data: BenchData): Row[]
}
