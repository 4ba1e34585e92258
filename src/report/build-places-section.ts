// The build section's "where": which machine built each derivation (remote builders named, this
// machine `local`), and what the substituters served instead of a build. Pure markdown.
import type { BuildResult } from '../model/index.js'
import { codeCell, escapeCell, table } from './markdown.js'

const ROWS = 30

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`

/** `/nix/store/<hash>-name.drv` → name (the hash says nothing to a reader; report.json has it). */
const shortName = (path: string): string =>
  path.replace(/^\/nix\/store\/[0-9a-z]{32}-/, '').replace(/\.drv$/, '')

/**
 * Empty when the build said nothing about where (nothing started, or an older report). A failed
 * build lists its failed derivations too, marked so.
 */
export function buildPlacesBlock(build: BuildResult): string {
  const parts: string[] = []
  const built = build.builtOn ?? []
  const failed = new Set(build.failures.map(failure => failure.drv))
  const mark = (drv: string): string => (failed.has(drv) ? ' (failed)' : '')
  // 'local': what src/build/build-places.ts names the machine that ran nix build.
  const remote = built.filter(entry => entry.machine !== 'local')
  if (built.length && !remote.length) {
    // A failed build all here: its failure section says enough.
    if (!failed.size) parts.push(`Built here (local): ${plural(built.length, 'derivation')}.`)
  } else if (remote.length) {
    const rows = built
      .slice(0, ROWS)
      .map(entry => [escapeCell(shortName(entry.drv)), codeCell(entry.machine) + mark(entry.drv)])
    const left = built.length - rows.length
    const note = left > 0 ? `\n\n_… and ${left} more in report.json (builds[].builtOn)._` : ''
    parts.push(
      `Built on remote builders: ${remote.length} of ${plural(built.length, 'derivation')}.\n\n` +
        table(['Derivation', 'Built on'], rows) +
        note
    )
  }
  const bySubstituter = new Map<string, number>()
  for (const { from } of build.substituted ?? [])
    bySubstituter.set(from, (bySubstituter.get(from) ?? 0) + 1)
  const served = [...bySubstituter].map(([from, count]) => `${count} from ${codeCell(from)}`)
  if (served.length) parts.push(`Substituted (not built): ${served.join(', ')}.`)
  return parts.join('\n\n')
}
