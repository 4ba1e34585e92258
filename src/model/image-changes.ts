// Types only: what the image was made of (its flake's inputs, the commit, its packages) and what
// changed since the last good run — part of baseline.json, report.json and the `changes` output.
// Imports nothing (comparison.ts refers to it).

/** One locked input of the flake (flake.lock's node), named by its path from the root. */
export interface FlakeInput {
  /** "nixpkgs", or "home-manager/nixpkgs" for an input's own input. */
  name: string
  /** github, gitlab, git, path, tarball, indirect, … */
  type: string
  owner?: string
  repo?: string
  /** For git, tarball, path (and any type without owner/repo). */
  url?: string
  ref?: string
  rev?: string
  /** Seconds since the epoch, as flake.lock keeps it. */
  lastModified?: number
  narHash?: string
}

/** The repository's own commit (GITHUB_SHA), with where to link it. */
export interface CommitRef {
  sha: string
  /** owner/repo (GITHUB_REPOSITORY). */
  repository?: string
  /** https://github.com (GITHUB_SERVER_URL). */
  serverUrl?: string
}

/** Package name → its versions (several when the graph holds more than one; "" when none). */
export type PackageVersions = Record<string, string[]>

/** What the image was made of, as far as this run could tell. */
export interface ImageComposition {
  inputs?: FlakeInput[]
  commit?: CommitRef
  /** What the image holds: its runtime closure's packages, or the graph's without build noise. */
  packages?: PackageVersions
  /** The rest of the derivation graph: sources, patches, bootstrap, hooks, build-only tools. */
  buildPackages?: PackageVersions
  /** Package name → bytes of its outputs in the runtime closure (when the outputs exist). */
  packageBytes?: Record<string, number>
  /** A failed derivation → the package names in its own closure (itself and its inputs). */
  failingClosures?: Record<string, string[]>
  /** Why something is missing (no flake.lock, no derivation to walk). */
  notes?: string[]
}

export interface InputRevision {
  rev?: string
  /** The date of lastModified, YYYY-MM-DD. */
  date?: string
  url?: string
}

export interface InputChange {
  name: string
  kind: 'updated' | 'added' | 'removed'
  type?: string
  before?: InputRevision
  after?: InputRevision
  /** https://github.com/<owner>/<repo>/compare/<old>...<new> for a GitHub input. */
  compareUrl?: string
}

export interface PackageChange {
  name: string
  kind: 'changed' | 'added' | 'removed'
  before: string[]
  after: string[]
  /** Part of what the image holds (false: a build-only package). */
  image: boolean
  /** Bytes now (or, when removed, then), when known. */
  bytes?: number
}

export interface CommitRange {
  before: string
  after: string
  compareUrl?: string
}

export interface PackageCounts {
  changed: number
  added: number
  removed: number
}

/** What the image's suspects are: in the failed derivation's closure, or next to the regression. */
export interface Suspects {
  kind: 'build' | 'regression'
  /** The failed derivation whose closure was searched. */
  drv?: string
  packages: PackageChange[]
  /** The boot phase that slowed and the probes that changed, side by side with the packages. */
  phase?: string
  probes?: string[]
}

export interface ImageChanges {
  /** The last good run compared with. */
  since: { createdAt: string; commit?: string }
  inputs: InputChange[]
  commits?: CommitRange
  /** Counts of what the image holds; build-only counted apart. */
  counts: PackageCounts
  buildCounts: PackageCounts
  /** Every package change, what the image holds first, then build-only ones. */
  packages: PackageChange[]
  suspects?: Suspects
  /** "since the last good run (2026-11-30, abc1234): nixpkgs 2026-11-20 → 2026-12-01; …" */
  sentence: string
  /** What could not be compared (no packages then, no flake.lock now). */
  notes?: string[]
}
