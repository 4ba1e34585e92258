// What changed since the last good run, for people: the summary's part (first screen when
// something regressed, collapsed otherwise) and changes.md (every package), both escaped and
// capped like every other section. And changes.json, the same for programs. Pure.
import type { ImageChanges, InputChange, PackageChange } from '../../model/index.js'
import { formatBytes } from '../../shared/bounds.js'
import { codeCell, details, escapeCell, table } from '../markdown.js'
import { inputText, packageText } from './diff.js'
import { anythingChanged } from './what-changed.js'

export const CHANGES_JSON = 'changes.json'
export const CHANGES_MD = 'changes.md'
/** Packages listed in the job summary (changes.md lists them all, up to CHANGES_MD_MAX). */
export const SUMMARY_PACKAGES = 20
export const CHANGES_MD_MAX = 20_000
/** Packages in the `changes` output (the rest are counted; changes.json has them all). */
export const OUTPUT_PACKAGES = 100

const link = (text: string, url?: string): string =>
  url && /^https:\/\/[^\s()<>]+$/.test(url) ? `[${text}](${url})` : text

function inputLine(change: InputChange): string {
  const text = escapeCell(inputText(change), 400)
  return `- ${link(text, change.compareUrl)}`
}

function packageRows(changes: PackageChange[]): string[][] {
  return changes.map(change => [
    escapeCell(change.name, 120),
    escapeCell(change.before.join(', ') || '–', 120),
    escapeCell(change.after.join(', ') || '–', 120),
    change.kind,
    change.bytes === undefined ? '' : formatBytes(change.bytes)
  ])
}

const HEADER = ['Package', 'Last good run', 'This run', 'Change', 'Size']

/** The body both the summary and changes.md open with: the sentence, inputs, commits, suspects. */
function head(changes: ImageChanges): string[] {
  const lines = [escapeCell(sentenceCase(changes.sentence), 2000) + '.']
  if (changes.inputs.length) lines.push(['**Inputs**', ...changes.inputs.map(inputLine)].join('\n'))
  if (changes.commits) {
    const { before, after, compareUrl } = changes.commits
    lines.push(
      `**Commits:** ${link(`${codeCell(before.slice(0, 12))}…${codeCell(after.slice(0, 12))}`, compareUrl)}`
    )
  }
  const suspects = changes.suspects
  if (suspects?.packages.length) {
    const where =
      suspects.kind === 'build'
        ? `in the closure of ${codeCell(suspects.drv ?? 'the failed derivation', 200)}`
        : 'in the image, beside the regression'
    const named = suspects.packages.slice(0, 10).map(p => escapeCell(packageText(p), 200))
    lines.push(`**Suspects** ${where}: ${named.join(', ')}`)
  }
  for (const note of changes.notes ?? []) lines.push(`_${escapeCell(note, 300)}._`)
  return lines
}

const sentenceCase = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1)

/** The summary's part: open when something regressed, collapsed otherwise. */
export function changesSection(changes: ImageChanges | undefined, regressed: boolean): string {
  if (!changes) return ''
  const lines = head(changes)
  const packages = changes.packages.filter(p => p.image).slice(0, SUMMARY_PACKAGES)
  if (packages.length) lines.push(table(HEADER, packageRows(packages)))
  const more = changes.packages.length - packages.length
  if (more > 0)
    lines.push(`_… and ${more} more package changes in \`${CHANGES_MD}\` (the artifact)._`)
  const title = anythingChanged(changes)
    ? 'What the image was made of: changes'
    : 'What the image was made of: no change'
  return details(title, lines.join('\n\n'), regressed)
}

/** changes.md: the sentence, then every package change, the image's first, build-only apart. */
export function changesMarkdown(changes: ImageChanges): string {
  const lines = ['# What changed since the last good run', ...head(changes)]
  const image = changes.packages.filter(p => p.image).slice(0, CHANGES_MD_MAX)
  const build = changes.packages.filter(p => !p.image).slice(0, CHANGES_MD_MAX)
  if (image.length) lines.push('## Packages of the image', table(HEADER, packageRows(image)))
  if (build.length)
    lines.push(
      '## Build-only packages (sources, patches, bootstrap, hooks)',
      table(HEADER, packageRows(build))
    )
  if (!anythingChanged(changes)) lines.push('No input, commit or package changed.')
  return lines.join('\n\n') + '\n'
}

/** The `changes` output: inputs, commits, packages (the first OUTPUT_PACKAGES), counts, suspects. */
export function changesOutput(changes: ImageChanges | undefined): string {
  if (!changes) return '{}'
  const { inputs, commits, counts, buildCounts, suspects, sentence } = changes
  return JSON.stringify({
    sentence,
    inputs,
    commits: commits ?? null,
    packages: changes.packages.slice(0, OUTPUT_PACKAGES),
    packagesOmitted: Math.max(0, changes.packages.length - OUTPUT_PACKAGES),
    counts,
    buildCounts,
    suspects: suspects ? { ...suspects, packages: suspects.packages.slice(0, 20) } : null
  })
}
