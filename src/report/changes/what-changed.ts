// What changed in the image's making since the last good run, with its suspects and one sentence
// in plain words: "since the last good run (2026-11-30, abc1234): nixpkgs 2026-11-20 → 2026-12-01;
// 41 packages changed; in the failing closure: systemd 256.1 → 256.2". Pure.
import type { ImageChanges, ImageComposition, PackageChange, Suspects } from '../../model/index.js'
import {
  commitRange,
  countPackages,
  diffInputs,
  diffPackages,
  inputText,
  packageText
} from './diff.js'

/** One side of the comparison: a composition and when its run finished. */
export interface ComposedRun extends ImageComposition {
  createdAt: string
}

/** What the regression beside the changes was: the phase that slowed, the probes that changed. */
export interface RegressionContext {
  /** Failed derivations of this run (their closures are searched first). */
  failedDrvs?: string[]
  phase?: string
  probes?: string[]
  /** Any regression at all (a worse result, a slower boot, a changed probe). */
  regressed?: boolean
}

/** Suspects named in the sentence; the rest are in changes.md. */
export const SENTENCE_SUSPECTS = 5

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

function buildSuspects(after: ComposedRun, changes: PackageChange[], failed: string[]) {
  for (const drv of failed) {
    const closure = new Set(after.failingClosures?.[drv] ?? [])
    const inside = changes.filter(change => closure.has(change.name))
    if (inside.length) return { kind: 'build', drv, packages: inside } satisfies Suspects
  }
  return undefined
}

function suspectsOf(
  after: ComposedRun,
  changes: PackageChange[],
  context: RegressionContext
): Suspects | undefined {
  const failed = context.failedDrvs ?? []
  if (failed.length) return buildSuspects(after, changes, failed)
  if (!context.regressed) return undefined
  const image = changes.filter(change => change.image)
  if (!image.length && !context.phase && !context.probes?.length) return undefined
  return {
    kind: 'regression',
    packages: image,
    ...(context.phase ? { phase: context.phase } : {}),
    ...(context.probes?.length ? { probes: context.probes } : {})
  }
}

function notesOf(before: ComposedRun, after: ComposedRun): string[] {
  const notes: string[] = []
  if (!before.packages && after.packages)
    notes.push('the last good run did not record its packages (an older baseline)')
  if (!before.inputs && after.inputs) notes.push('the last good run did not record its inputs')
  return [...notes, ...(after.notes ?? [])]
}

/** The differences between the last good run's making and this run's. */
export function whatChanged(
  before: ComposedRun,
  after: ComposedRun,
  context: RegressionContext = {}
): ImageChanges {
  const inputs = before.inputs && after.inputs ? diffInputs(before.inputs, after.inputs) : []
  const comparable = before.packages && after.packages
  const image = comparable
    ? diffPackages(before.packages!, after.packages!, true, after.packageBytes)
    : []
  const build = comparable
    ? diffPackages(before.buildPackages ?? {}, after.buildPackages ?? {}, false)
    : []
  const commits = commitRange(before.commit, after.commit)
  const packages = [...image, ...build]
  const changes: ImageChanges = {
    since: { createdAt: before.createdAt, ...(before.commit ? { commit: before.commit.sha } : {}) },
    inputs,
    ...(commits ? { commits } : {}),
    counts: countPackages(image),
    buildCounts: countPackages(build),
    packages,
    sentence: ''
  }
  const suspects = suspectsOf(after, packages, context)
  if (suspects) changes.suspects = suspects
  const notes = notesOf(before, after)
  if (notes.length) changes.notes = notes
  changes.sentence = changesSentence(changes)
  return changes
}

/** Whether anything in the image's making changed. */
export function anythingChanged(changes: ImageChanges | undefined): boolean {
  return (
    !!changes && (changes.inputs.length > 0 || !!changes.commits || changes.packages.length > 0)
  )
}

export function changesSentence(changes: ImageChanges): string {
  const date = changes.since.createdAt.slice(0, 10)
  const since = `since the last good run (${[date, changes.since.commit?.slice(0, 7)].filter(Boolean).join(', ')})`
  const parts = changes.inputs.map(inputText)
  if (changes.commits)
    parts.push(`commits ${changes.commits.before.slice(0, 7)}…${changes.commits.after.slice(0, 7)}`)
  const counts = changes.counts
  const image = counts.changed + counts.added + counts.removed
  const build =
    changes.buildCounts.changed + changes.buildCounts.added + changes.buildCounts.removed
  if (image) parts.push(`${plural(image, 'package')} changed`)
  if (build) parts.push(`${plural(build, 'build-only package')} changed`)
  const suspects = changes.suspects
  if (suspects?.packages.length) {
    const where = suspects.kind === 'build' ? 'in the failing closure' : 'in the image'
    const named = suspects.packages.slice(0, SENTENCE_SUSPECTS).map(packageText)
    const more = suspects.packages.length - named.length
    parts.push(`${where}: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`)
  }
  if (suspects?.phase) parts.push(`slower in ${suspects.phase}`)
  if (suspects?.probes?.length) parts.push(`probes changed: ${suspects.probes.join(', ')}`)
  return parts.length
    ? `${since}: ${parts.join('; ')}`
    : `nothing in the inputs, commit or packages changed ${since}`
}
