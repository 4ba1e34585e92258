// The typed results each stage returns, and the shape of report.json (schema: docs/report-schema.md).
// Types only: stages produce these, the report renders them, main decides the verdict from them.
// The regression view's types (the comparison with the last passing run) are in comparison.ts,
// QEMU provisioning's in qemu-provision.ts, the VM stage's in vm-result.ts (all through index.ts).
import type { Comparison } from './comparison.js'
import type { QemuProvision } from './qemu-provision.js'
import type { VmStageResult } from './vm-result.js'

export type Result =
  | 'passed'
  | 'setup-failed'
  | 'eval-failed'
  | 'build-failed'
  | 'boot-failed'
  | 'probe-failed'
  | 'test-failed'

export type StageName =
  'setup' | 'qemu' | 'build' | 'env-diff' | 'boot' | 'probes' | 'test' | 'upload'
export type StageStatus = 'passed' | 'failed' | 'warning' | 'skipped'

export interface StageRecord {
  status: StageStatus
  durationMs: number
  /** One line a human reads in the stage table. */
  detail: string
}

/** A stage's own judgement of its result: the stage table's status and detail, timed by the pipeline. */
export type StageJudgement = Omit<StageRecord, 'durationMs'>

// ---- setup -------------------------------------------------------------------------------------

export type NixVariant = 'nix' | 'lix' | 'determinate'

export interface NixCapabilities {
  /** `nix build --print-out-paths` (2.12+); otherwise `--json`. */
  printOutPaths: boolean
  /** `nix config show` (2.20+) or the older `nix show-config`. */
  configShow: string[]
  /** `nix derivation show` (2.15+) or `nix show-derivation`. */
  derivationShow: string[]
  /** `nix store info` (2.19+) or `nix store ping`. */
  storeInfo: string[]
  /** The `json-log-path` setting (2.30+). */
  jsonLogPath: boolean
}

export interface NixInstallation {
  /** Absolute path of the `nix` binary every later call uses. */
  nixPath: string
  version: string
  variant: NixVariant
  capabilities: NixCapabilities
  /** Variables every nix call must carry (the action's configuration drop-in). */
  env: Record<string, string>
  storeMode: 'daemon' | 'in-process'
}

export interface KvmSetup {
  /** What the action did to /dev/kvm, in words (e.g. "udev rule installed", "already usable"). */
  action: string
  deviceUsable: boolean
}

export interface SetupResult {
  ok: boolean
  error?: string
  nix?: NixInstallation
  /** Everything the action changed on the machine, for the report and for post to undo. */
  changes: string[]
  /** Files post must delete (the access-token configuration). */
  cleanupPaths: string[]
  kvm: KvmSetup
}

// ---- build -------------------------------------------------------------------------------------

export type BuildContext = 'host' | 'devshell'

export interface FailedDerivation {
  /** /nix/store/…-name.drv */
  drv: string
  /** The derivation's name without hash and .drv. */
  name: string
  /** One line: "builder failed with exit code 1", "hash mismatch", "missing system features: kvm", … */
  reason: string
  exitCode: number | null
  /** Report-relative path of the full log (build/failed/<name>.log). */
  log: string
  /** The last lines of the log, for annotations and the summary. */
  tail: string[]
  /** Where it failed: `local` or the remote builder's URI; absent when its build never started. */
  machine?: string
}

export interface BuiltDerivation {
  drv: string
  /** `local` (the machine that ran nix build) or the builder's store URI, as Nix names it. */
  machine: string
}

export interface SubstitutedPath {
  path: string
  /** The substituter's URI. */
  from: string
}

export interface BuildResult {
  context: BuildContext
  status: 'passed' | 'eval-failed' | 'build-failed'
  /** The error Nix printed, for eval failures and failures with no derivation to blame. */
  error?: string
  drvPath?: string
  outPath?: string
  isoPath?: string
  /** Every derivation whose own builder failed (never the parents that failed because of them). */
  failures: FailedDerivation[]
  /** Derivations that failed only because a dependency did. */
  dependents: string[]
  /** Derivations this build ran (set when it passed); empty when every output was already in the store. */
  built?: string[]
  /**
   * Where each derivation whose build started ran: `local`, or the remote builder's URI
   * (`builders`). Set when the build passed (then `built`) and when it failed (failed ones too).
   */
  builtOn?: BuiltDerivation[]
  /** Store paths a substituter (binary cache) served instead of a build, and which one. */
  substituted?: SubstitutedPath[]
  /** Set when the disk looked too small before the build: the free and needed figures, and where. */
  diskWarning?: string
  durationMs: number
}

// ---- env diff ----------------------------------------------------------------------------------

export type Likelihood = 'high' | 'medium' | 'low'

export interface EnvDifference {
  name: string
  kind: 'added' | 'removed' | 'changed'
  host?: string
  devshell?: string
  likelihood: Likelihood
  reason: string
}

export interface EnvDiffResult {
  ok: boolean
  error?: string
  /** Plain-language lines, most important first. */
  verdicts: string[]
  differences: EnvDifference[]
  durationMs: number
}

// ---- cache (the image as a Nix binary cache in @actions/cache) ---------------------------------

export interface CacheResult {
  status: 'hit' | 'partial' | 'miss' | 'disabled' | 'error'
  /** The exact key this image's entry has (or would have). */
  key?: string
  /** The key of the entry restored (equal to key on a hit). */
  matchedKey?: string
  bytesRestored?: number
  restoreMs?: number
  detail: string
  /** The service failed or did not answer: no later cache call of this run tries it again. */
  serviceDown?: boolean
  /**
   * The image's evaluation with the run's key and, beside it, with a throw-away key (what does not
   * depend on the key), each on its own, and both together (the cost the build stage waits for).
   */
  evaluations?: { runKeyMs: number; otherKeyMs: number; bothMs: number }
  /** The post step's save (in the local report.json and the job summary; the artifact predates it). */
  save?: CacheSave
}

export interface CacheSave {
  status: 'saved' | 'skipped' | 'error'
  key: string
  /** Bytes of the entry's binary cache directory (compressed NARs). */
  bytes?: number
  /** Store paths in the entry. */
  paths?: number
  saveMs?: number
  /** Closures left out to stay under cache-max-size, with their uncompressed size. */
  leftOut: { root: string; bytes: number }[]
  detail: string
}

// ---- report ------------------------------------------------------------------------------------

export interface UploadResult {
  status: 'uploaded' | 'skipped' | 'failed'
  artifactId?: number
  artifactUrl?: string
  detail: string
  /** Report-relative files withheld because they held a secret. */
  withheld: string[]
  /** The name the artifact got (another may have taken the one asked for). */
  name?: string
}

export interface Report {
  schemaVersion: 1
  result: Result
  /** The stage whose outcome decided the result (null when everything passed). */
  decidedBy: StageName | null
  /** False while the run is in progress (report.json is rewritten after every stage). */
  complete: boolean
  /** The job was cancelled (SIGINT/SIGTERM) before every stage ran. */
  cancelled?: boolean
  /** Set when the action itself crashed; what it had written before is kept. */
  error?: string
  startedAt: string
  finishedAt: string
  stages: Partial<Record<StageName, StageRecord>>
  setup?: SetupResult
  /** Where QEMU and OVMF came from (absent when the run stopped before looking). */
  qemu?: QemuProvision
  builds: BuildResult[]
  envDiff?: EnvDiffResult
  vm?: VmStageResult
  cache?: CacheResult
  comparison?: Comparison
  upload?: UploadResult
  /** Input 'boot' false: the ISO's own artifact, for a later job's input 'iso'. */
  isoArtifact?: UploadResult
}
