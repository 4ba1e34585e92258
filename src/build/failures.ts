// Finds the derivations whose own builder failed in what Nix printed, in every format Nix has
// used (see docs in tests/fixtures/README.md and /work/shared/notes/nix.md). Pure functions over text.

export interface ParsedFailure {
  /** /nix/store/…-name.drv */
  drv: string
  /** The derivation's name without hash and .drv. */
  name: string
  /** One line: "builder failed with exit code 1", "missing system features: kvm", … */
  reason: string
  /** The builder's exit code, when Nix said it. */
  exitCode: number | null
  /** "9 (Killed)" when the builder died of a signal. */
  signal?: string
  /** The log tail Nix quoted in the error (the `> ` lines), when it did. */
  tail: string[]
  /** The remote builder it failed on, when Nix's error names one (`build of … on '<uri>' failed`). */
  machine?: string
}

import { builderStatus, cannotBuild, missingFeatures, type Found } from './cannot-build.js'
import { capLines } from '../shared/bounds.js'
import { stripAnsi } from '../shared/nix-error.js'

const DRV = String.raw`(/[^\s']*?/[0-9a-z]{32}-[^\s'/!^]+?\.drv)`
const drvIn = (text: string): string | undefined => new RegExp(DRV).exec(text)?.[1]

/**
 * What Nix printed, as this family of parsers reads it (failures, machine failures, evaluation
 * errors): every line cut at CAPS.parsedLineChars, then colour removed. The one entry for their
 * patterns, so that one long line from a builder costs linear time whatever they match.
 */
export function nixText(text: string): string {
  return stripAnsi(capLines(text))
}

/** /nix/store/<hash>-hello-2.12.drv → hello-2.12 */
export function derivationName(drvPath: string): string {
  const base = drvPath.slice(drvPath.lastIndexOf('/') + 1).replace(/\.drv$/, '')
  return /^[0-9a-z]{32}-/.test(base) ? base.slice(33) : base
}

/**
 * A build on a remote builder that failed there: Nix (measured on 2.8) puts this before the
 * builder's own error, then reports the same derivation again with exit code 1 (its own view).
 */
const REMOTE = /^build of '[^']*' on '([^']*)' failed: /
const remoteMachine = (line: string): string | undefined =>
  REMOTE.exec(line.trim().replace(/^error:\s+/, ''))?.[1]

/** What may follow an error Nix printed on the progress bar's line (no newline in between). */
const GLUED_ROOT = /^error: (?:builder for '|Cannot build '|hash mismatch in |build of ')/

/**
 * The error alone when the progress bar's last text is glued before it (`…6/23error: builder
 * for …`): an `error: ` right after a non-space character, followed by a root cause.
 */
function unglue(line: string): string {
  const at = line.indexOf('error: ', 1)
  if (at < 0 || /\s|>/.test(line[at - 1]) || line.startsWith('error:')) return line
  const rest = line.slice(at)
  return GLUED_ROOT.test(rest) ? rest : line
}

/** A line as Nix means it: colour, the `error: ` prefix and the message indentation removed. */
function normalise(line: string): string {
  return unglue(line.trim())
    .replace(/^(?:error|note):\s+/, '')
    .replace(REMOTE, '')
    .trim()
}

const BUILDER = new RegExp(
  `^builder for '${DRV}' failed (with exit code (\\d+)|due to signal (\\d+)(?: \\(([^)]*)\\))?|to produce output path.*)`
)
const CANNOT_BUILD = new RegExp(`^Cannot build '${DRV}'\\.`)
/** ≤ 2.3 names the output path, not the .drv. */
const HASH = new RegExp(
  `^hash mismatch in fixed-output derivation '(?:${DRV}|(/[^\\s']*?/[0-9a-z]{32}-[^\\s'/]+))'`
)
const FEATURES = new RegExp(
  `^a '([^']*)' with features \\{([^}]*)\\} is required to build '${DRV}', but I am a '([^']*)' with features \\{([^}]*)\\}`
)
/** Nix 2.0–2.1: the platform alone, no features. */
const PLATFORM = new RegExp(`^a '([^']*)' is required to build '${DRV}', but I am a '([^']*)'$`)
/** Nix names the goal first ("building of '<drv>' …"), or nothing at all (2.34+). */
const TIMEOUT = /^(?:building of '[^']*'.*? )?timed out after (\d+) seconds( of silence)?/
const LOG_LIMIT = /^(?:building of '[^']*'.*? )?killed after writing more than (\d+) bytes of log/
const DEPENDENTS = [
  new RegExp(`^cannot build derivation '${DRV}': \\d+ dependencies couldn't be built`),
  new RegExp(`^\\d+ dependencies of derivation '${DRV}' failed to build`)
]

/** "to produce output path for output 'out' at '/nix/…'" → without the path (either quote). */
function beforeAt(text: string): string {
  const cuts = [text.indexOf(" at '"), text.indexOf(' at "')].filter(at => at >= 0)
  return cuts.length ? text.slice(0, Math.min(...cuts)) : text
}

/** A builder whose log ends in ENOSPC failed for want of disk: said in its reason. */
function withFullDisk(reason: string, tail: readonly string[]): string {
  if (!tail.some(line => line.includes('No space left on device'))) return reason
  return `${reason}: the disk is full (No space left on device)`
}

/** Recognises a root cause starting at lines[i]. */
function rootCauseAt(
  lines: string[],
  i: number,
  activeBuild?: string
): Found | 'dependent' | undefined {
  const line = lines[i]
  let m = BUILDER.exec(line)
  if (m) {
    if (m[3] || m[4]) return { drv: m[1], ...builderStatus(`failed ${m[2]}`), next: i + 1 }
    return { drv: m[1], reason: 'builder failed ' + beforeAt(m[2]), exitCode: null, next: i + 1 }
  }
  if ((m = CANNOT_BUILD.exec(line))) return cannotBuild(lines, i, m[1])
  if ((m = PLATFORM.exec(line))) {
    const reason = `platform mismatch: needs ${m[1]}, this machine is ${m[3]}`
    return { drv: m[2], reason, exitCode: null, next: i + 1 }
  }
  if ((m = HASH.exec(line))) {
    const near = lines.slice(i + 1, i + 6)
    const wanted = near.map(l => /^(?:specified|wanted):\s*(\S+)/.exec(l)?.[1]).find(Boolean)
    const got = near.map(l => /^got:\s*(\S+)/.exec(l)?.[1]).find(Boolean)
    const detail = wanted && got ? `: specified ${wanted}, got ${got}` : ''
    return {
      drv: m[1] ?? m[2],
      reason: `hash mismatch in fixed-output derivation${detail}`,
      exitCode: null,
      next: i + 1
    }
  }
  if ((m = FEATURES.exec(line))) {
    const missing = missingFeatures(m[2], m[5])
    const platform =
      m[1] !== m[4] ? `platform mismatch: needs ${m[1]}, this machine is ${m[4]}` : ''
    const reason =
      [missing, platform].filter(Boolean).join('; ') || 'required system or feature not available'
    return { drv: m[3], reason, exitCode: null, next: i + 1 }
  }
  const timeout = TIMEOUT.exec(line)
  if (timeout) {
    const drv = drvIn(line) ?? activeBuild
    const what = timeout[2] ? 'of silence (max-silent-time)' : '(timeout)'
    if (drv)
      return {
        drv,
        reason: `timed out after ${timeout[1]} seconds ${what}`,
        exitCode: null,
        next: i + 1
      }
  }
  const limit = LOG_LIMIT.exec(line)
  const limitDrv = limit && (drvIn(line) ?? activeBuild)
  if (limit && limitDrv) {
    const reason = `killed after writing more than ${limit[1]} bytes of log output`
    return { drv: limitDrv, reason, exitCode: null, next: i + 1 }
  }
  return DEPENDENTS.some(re => re.test(line)) ? 'dependent' : undefined
}

/** The `> ` lines (2.4+) or two-space lines (≤ 2.3) after a `last N log lines:` heading. */
function quotedTail(raw: string[], lines: string[], from: number): string[] {
  let heading = -1
  for (let i = from - 1; i < Math.min(lines.length, from + 8) && heading < 0; i++) {
    if (i >= from && /^\S/.test(raw[i])) return [] // the next message (and its tail): none here
    if (/last \d+ log lines:$/i.test(lines[i])) heading = i
  }
  if (heading < 0) return []
  const tail: string[] = []
  const legacy = !lines[heading].startsWith('last') && !lines[heading].startsWith('Last')
  for (let i = heading + 1; i < lines.length; i++) {
    const quoted = /^\s*> ?(.*)$/.exec(raw[i])
    if (quoted) tail.push(quoted[1])
    else if (legacy && /^ {2}/.test(raw[i])) tail.push(raw[i].slice(2))
    else break
  }
  return tail
}

function scan(
  text: string,
  activeBuild?: string
): { roots: ParsedFailure[]; dependents: string[] } {
  const raw = nixText(text).split('\n')
  const lines = raw.map(normalise)
  const roots = new Map<string, ParsedFailure>()
  const dependents: string[] = []
  let last: ParsedFailure | undefined
  let building = activeBuild
  for (let i = 0; i < lines.length; i++) {
    const started = /^building '([^']+\.drv)'/.exec(lines[i])
    if (started && !activeBuild) building = started[1]
    if (/build failure may have been caused by lack of free disk space/.test(lines[i])) {
      // Nix says this when, after the failure, the store or the build directory had < 8 MiB free.
      if (last && !last.reason.includes('the disk is full'))
        last.reason += ': the disk is full (Nix found less than 8 MiB free)'
      continue
    }
    const found = rootCauseAt(lines, i, building)
    if (found === 'dependent') {
      const drv = drvIn(lines[i])
      if (drv && !dependents.includes(drv)) dependents.push(drv)
      continue
    }
    if (!found) continue
    const tail = quotedTail(raw, lines, found.next)
    const machine = remoteMachine(unglue(raw[i].trim()))
    const failure: ParsedFailure = {
      drv: found.drv,
      name: derivationName(found.drv),
      reason: withFullDisk(found.reason, tail),
      exitCode: found.exitCode,
      ...(found.signal ? { signal: found.signal } : {}),
      tail,
      ...(machine ? { machine } : {})
    }
    const seen = roots.get(found.drv)
    if (seen) {
      if (!seen.tail.length && tail.length) seen.tail = tail
      if (!seen.machine && machine) seen.machine = machine
      // A later exit code says more than none, but not after a missing output: that builder
      // exited 0, and Nix's own later "exit code 1" is its view of the failed goal.
      const noOutput = seen.reason.startsWith('builder failed to produce output')
      if (seen.exitCode === null && failure.exitCode !== null && !noOutput)
        Object.assign(seen, failure, { tail: seen.tail })
      last = seen
    } else {
      roots.set(found.drv, failure)
      last = failure
    }
  }
  return { roots: [...roots.values()], dependents: dependents.filter(d => !roots.has(d)) }
}

/**
 * Every derivation whose own builder failed (or that could not be built at all: hash mismatch,
 * missing system features, timeout), deduplicated, in the order Nix reported them. A root cause
 * that names no derivation (2.34+ timeouts) is put on `activeBuild` when given.
 */
export function findRootFailures(text: string, activeBuild?: string): ParsedFailure[] {
  return scan(text, activeBuild).roots
}

/** Derivations that failed only because a dependency did (never root failures). */
export function findDependents(text: string): string[] {
  return scan(text).dependents
}
