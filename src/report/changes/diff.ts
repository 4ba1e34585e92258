// What changed in what the image was made of: inputs (updated with both revisions and dates, added,
// removed), the repository's commit range and packages (version changes, added, removed), as nvd
// and a flake.lock diff show them. Pure.
import type {
  CommitRange,
  CommitRef,
  FlakeInput,
  InputChange,
  InputRevision,
  PackageChange,
  PackageCounts,
  PackageVersions
} from '../../model/index.js'

const SHA = /^[0-9a-f]{7,64}$/i

/** YYYY-MM-DD of a flake.lock lastModified (seconds). */
export function lockDate(lastModified: number | undefined): string | undefined {
  if (lastModified === undefined || !Number.isFinite(lastModified)) return undefined
  return new Date(lastModified * 1000).toISOString().slice(0, 10)
}

const revisionOf = (input: FlakeInput): InputRevision => ({
  rev: input.rev,
  date: lockDate(input.lastModified),
  url: input.url
})

const isGithub = (input: FlakeInput): boolean =>
  input.type === 'github' && !!input.owner && !!input.repo

function compareUrl(before: FlakeInput, after: FlakeInput): string | undefined {
  if (!isGithub(before) || !isGithub(after) || !before.rev || !after.rev) return undefined
  if (before.owner !== after.owner || before.repo !== after.repo) return undefined
  if (!SHA.test(before.rev) || !SHA.test(after.rev)) return undefined
  const repo = `${encodeURIComponent(after.owner!)}/${encodeURIComponent(after.repo!)}`
  return `https://github.com/${repo}/compare/${before.rev}...${after.rev}`
}

/** Where an input points, for telling "updated" from "the same". */
const identity = (input: FlakeInput): string =>
  [input.type, input.owner, input.repo, input.url, input.ref, input.rev, input.narHash].join('\0')

export function diffInputs(before: FlakeInput[], after: FlakeInput[]): InputChange[] {
  const old = new Map(before.map(input => [input.name, input]))
  const changes: InputChange[] = []
  for (const input of after) {
    const then = old.get(input.name)
    old.delete(input.name)
    if (!then) {
      changes.push({ name: input.name, kind: 'added', type: input.type, after: revisionOf(input) })
    } else if (identity(then) !== identity(input)) {
      const url = compareUrl(then, input)
      changes.push({
        name: input.name,
        kind: 'updated',
        type: input.type,
        before: revisionOf(then),
        after: revisionOf(input),
        ...(url ? { compareUrl: url } : {})
      })
    }
  }
  for (const gone of old.values()) {
    changes.push({ name: gone.name, kind: 'removed', type: gone.type, before: revisionOf(gone) })
  }
  return changes
}

/** The repository's own commits between the last good run and this one (undefined: the same or unknown). */
export function commitRange(before?: CommitRef, after?: CommitRef): CommitRange | undefined {
  if (!before?.sha || !after?.sha || before.sha === after.sha) return undefined
  const range: CommitRange = { before: before.sha, after: after.sha }
  const server = (after.serverUrl || 'https://github.com').replace(/\/+$/, '')
  const sameRepo = after.repository && before.repository === after.repository
  if (
    sameRepo &&
    /^https?:\/\/[^\s/]+$/.test(server) &&
    SHA.test(before.sha) &&
    SHA.test(after.sha)
  )
    range.compareUrl = `${server}/${after.repository}/compare/${before.sha}...${after.sha}`
  return range
}

const sameVersions = (a: string[], b: string[]): boolean =>
  a.length === b.length && a.every((version, i) => version === b[i])

/** Package changes of one kind (image or build-only), by name. */
export function diffPackages(
  before: PackageVersions,
  after: PackageVersions,
  image: boolean,
  bytes: Record<string, number> = {}
): PackageChange[] {
  const changes: PackageChange[] = []
  const sized = (name: string): Partial<PackageChange> =>
    bytes[name] === undefined ? {} : { bytes: bytes[name] }
  for (const [name, now] of Object.entries(after)) {
    const then = before[name]
    if (!then) changes.push({ name, kind: 'added', before: [], after: now, image, ...sized(name) })
    else if (!sameVersions(then, now))
      changes.push({ name, kind: 'changed', before: then, after: now, image, ...sized(name) })
  }
  for (const [name, then] of Object.entries(before)) {
    if (!(name in after)) changes.push({ name, kind: 'removed', before: then, after: [], image })
  }
  const order = { changed: 0, added: 1, removed: 2 }
  return changes.sort((a, b) => order[a.kind] - order[b.kind] || a.name.localeCompare(b.name))
}

export function countPackages(changes: PackageChange[]): PackageCounts {
  const counts: PackageCounts = { changed: 0, added: 0, removed: 0 }
  for (const change of changes) counts[change.kind]++
  return counts
}

/** "systemd 256.1 → 256.2", "libbar (new) 2.0", "libold 1.0 (removed)". */
export function packageText(change: PackageChange): string {
  const versions = (list: string[]): string => list.filter(Boolean).join(', ') || '(no version)'
  if (change.kind === 'added') return `${change.name} ${versions(change.after)} (added)`
  if (change.kind === 'removed') return `${change.name} ${versions(change.before)} (removed)`
  return `${change.name} ${versions(change.before)} → ${versions(change.after)}`
}

/** "nixpkgs 2026-11-20 → 2026-12-01" (the dates, or short revisions when the dates are equal). */
export function inputText(change: InputChange): string {
  const short = (r?: InputRevision): string => r?.rev?.slice(0, 12) || r?.url || '?'
  const point = (r?: InputRevision): string => (r?.date ? `${r.date} (${short(r)})` : short(r))
  if (change.kind === 'added') return `${change.name} added at ${point(change.after)}`
  if (change.kind === 'removed') return `${change.name} removed (was ${point(change.before)})`
  return `${change.name} ${point(change.before)} → ${point(change.after)}`
}
