// The cache figure of `npm run bench` (scripts/bench.ts): time to verdict with the image cache
// restored against a fresh build, on an image that takes its key at boot.
import { type Row, stats } from '../table.js'
import type { Figure } from '../figure.js'
import type { BootSample, Variant } from '../boots.js'

export const cache: Figure = {
  name: 'cache',
  units: [['cache-cold', 'cache-warm']],
  rows({ samples, of, cacheNotWired }) {
    const rows: Row[] = []
    // The pair's image takes its key at boot, so the second run should restore its own entry
    // ('hit'); a 'partial' would count as restored too, and the statuses seen are named.
    const restored = (sample: BootSample): boolean =>
      (sample.cache?.status === 'hit' || sample.cache?.status === 'partial') &&
      (sample.cache.bytesRestored ?? 0) > 0
    const pairs = of('cache-warm').flatMap(warm => {
      const cold = of('cache-cold').find(c => c.round === warm.round)
      return cold && restored(warm) ? [{ cold, warm }] : []
    })
    const statuses = (variant: Variant): string =>
      [
        ...new Set(
          samples.filter(s => s.variant === variant).map(s => s.cache?.status ?? 'no cache field')
        )
      ].join('/') || 'none'
    const warmDetails = [
      ...new Set(
        samples
          .filter(s => s.variant === 'cache-warm' && !restored(s))
          .map(s => `${s.cache?.status ?? 'no cache field'}: ${s.cache?.detail ?? s.error ?? ''}`)
      )
    ]
    const reason =
      cacheNotWired ??
      (warmDetails.length
        ? `the second run restored nothing (${warmDetails.join('; ')})`
        : 'no cache run passed')
    const label = `${statuses('cache-warm')} vs ${statuses('cache-cold')}`
    rows.push({
      figure: `cache: time to verdict, restored / fresh (${label})`,
      unit: 'ratio',
      stats: stats(pairs.map(p => (p.warm.mainMs ?? 0) / (p.cold.mainMs ?? 1))),
      notMeasured: reason
    })
    if (pairs.length) {
      rows.push({
        figure: '  build stage, restored / fresh',
        unit: 'ratio',
        stats: stats(pairs.map(p => (p.warm.buildMs ?? 0) / (p.cold.buildMs ?? 1)))
      })
      rows.push({
        figure: '  time to verdict, fresh build',
        unit: 's',
        stats: stats(pairs.map(p => (p.cold.mainMs ?? 0) / 1000))
      })
      rows.push({
        figure: '  time to verdict, restored',
        unit: 's',
        stats: stats(pairs.map(p => (p.warm.mainMs ?? 0) / 1000))
      })
      rows.push({
        figure: '  bytes restored',
        unit: 'bytes',
        stats: stats(pairs.map(p => p.warm.cache?.bytesRestored ?? 0))
      })
      rows.push({
        figure: '  restore time (cache.restoreMs)',
        unit: 'ms',
        stats: stats(pairs.map(p => p.warm.cache?.restoreMs ?? 0))
      })
    }
    return rows
  }
}
