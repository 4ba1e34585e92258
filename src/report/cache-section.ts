// The summary's cache section: the restore before the build, and the post step's save.
import type { BuildResult, CacheResult, CacheSave } from '../model/index.js'
import { codeCell, escapeCell, formatDuration } from './markdown.js'

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`

const CACHE_STATUS: Record<CacheResult['status'], string> = {
  hit: '✅ hit: the image was restored, not built',
  partial: '♻️ partial: the closest earlier entry was restored; only what changed was built',
  miss: '➖ miss: no earlier entry',
  disabled: '⏭️ disabled',
  error: '⚠️ error (the run went on without it)'
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** The post step's save, as one paragraph (also appended to the job summary by post). */
export function cacheSaveLine(save: CacheSave): string {
  const facts = [`**Save: ${save.status}**: ${escapeCell(save.detail, 1000)}`]
  if (save.bytes !== undefined) facts.push(`${mib(save.bytes)} in ${save.paths ?? 0} store paths`)
  if (save.saveMs !== undefined) facts.push(`in ${formatDuration(save.saveMs)}`)
  const left = save.leftOut.slice(0, 20).map(item => `${codeCell(item.root)} (${mib(item.bytes)})`)
  if (left.length) facts.push(`left out (cache-max-size): ${left.join(', ')}`)
  return facts.join('; ')
}

export function cacheSection(cache: CacheResult | undefined, builds: BuildResult[] = []): string {
  if (!cache) return ''
  const lines = ['### Cache', `${CACHE_STATUS[cache.status]}: ${escapeCell(cache.detail, 1000)}`]
  const facts: string[] = []
  if (cache.key) facts.push(`- Key: ${codeCell(cache.key)}`)
  if (cache.matchedKey && cache.matchedKey !== cache.key)
    facts.push(`- Restored: ${codeCell(cache.matchedKey)}`)
  if (cache.bytesRestored !== undefined) facts.push(`- Size: ${mib(cache.bytesRestored)}`)
  if (cache.restoreMs !== undefined) facts.push(`- Restore: ${formatDuration(cache.restoreMs)}`)
  const built = builds[0]?.built
  if (built && (cache.status === 'hit' || cache.status === 'partial'))
    facts.push(`- Then built: ${plural(built.length, 'derivation')}`)
  if (facts.length) lines.push(facts.join('\n'))
  if (cache.save) lines.push(cacheSaveLine(cache.save))
  else if (cache.key && cache.status !== 'hit') lines.push('_Saved by the post step._')
  return lines.join('\n\n')
}
