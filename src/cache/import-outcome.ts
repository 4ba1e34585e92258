// Pure: what a restore brought, in the report's words: hit (this image's own entry), partial
// (what does not depend on the run's key, or the closest entry), or a restore in vain.
import type { ImportOutcome } from './entry.js'
import { formatBytes } from '../shared/bounds.js'
import { storeName } from './keys.js'
import type { ReuseAnalysis } from './reuse.js'

/** hit: this image's own entry; partial: what does not depend on the key, or the closest entry. */
export function importedOutcome(
  imported: ImportOutcome,
  sizes: Map<string, number>,
  reuse: ReuseAnalysis,
  exact: boolean,
  matchedKey: string
): { status: 'hit' | 'partial' | 'miss'; detail: string } {
  if (!imported.imported.length) {
    // Restored in vain: counted, reported, and not imported.
    const bytes = [...sizes.values()].reduce((sum, size) => sum + size, 0)
    return {
      status: 'miss',
      detail:
        `restored in vain: the closest entry (${matchedKey}) holds nothing this build uses ` +
        `(${imported.unused.length} paths, ${formatBytes(bytes)}); not imported`
    }
  }
  return {
    status: exact && reuse.basis.kind === 'image' ? 'hit' : 'partial',
    detail: describeImport(imported, sizes, reuse, exact ? undefined : matchedKey)
  }
}

/** What a restore brought, used and left, in words. */
function describeImport(
  outcome: ImportOutcome,
  sizes: Map<string, number>,
  reuse: ReuseAnalysis,
  matched: string | undefined
): string {
  const bytes = (paths: string[]): string =>
    formatBytes(paths.reduce((sum, path) => sum + (sizes.get(path) ?? 0), 0))
  const from = matched ? ` from the closest entry (${matched})` : ''
  const parts = [
    reuse.basis.kind === 'image'
      ? `restored${from}: ${outcome.imported.length} store paths, ${bytes(outcome.imported)}`
      : `restored${from} ${outcome.imported.length} store paths (${bytes(outcome.imported)}) that do not depend on the run's key`
  ]
  if (reuse.keyDependent.length) {
    const names = reuse.keyDependent.map(storeName)
    parts.push(
      `still built: the ${names.length} derivation(s) that depend on the run's key (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''})`
    )
  }
  if (outcome.unused.length) {
    parts.push(
      `${outcome.unused.length} restored paths (${bytes(outcome.unused)}) this build does not use were not imported`
    )
  }
  return parts.join('; ')
}
