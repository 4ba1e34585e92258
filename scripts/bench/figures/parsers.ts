// The parsers figure: what the worst line costs the parsers of untrusted text (issue 22: under
// 100 ms on a 1 MB line, whatever its shape). Each cheap repetition times every parser on every
// shape of tests/helpers/untrusted-parsers.ts (the best of three per shape) and keeps the slowest
// parser's figure; the unit test only guards against super-linear time, far above this target.
import { PARSERS, shapeTimes } from '../../../tests/helpers/untrusted-parsers.js'
import type { Figure } from '../figure.js'
import { stats } from '../table.js'

/** Per repetition: the slowest parser on its worst shape. */
const samples: { ms: number; what: string }[] = []

function slowestParser(): { ms: number; what: string } {
  let slowest = { ms: 0, what: '' }
  for (const [name, parse] of Object.entries(PARSERS)) {
    for (const [shape, ms] of Object.entries(shapeTimes(parse))) {
      if (ms > slowest.ms) slowest = { ms, what: `${name} on ${shape}` }
    }
  }
  return slowest
}

export const parsers: Figure = {
  name: 'parsers',
  units: [],
  async cheap() {
    const sample = slowestParser()
    samples.push(sample)
    return `parsers ${sample.ms.toFixed(0)} ms (${sample.what})`
  },
  rows() {
    const count = Object.keys(PARSERS).length
    const worst = samples.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, what: 'none' })
    return [
      {
        figure: `the slowest of ${count} parsers of untrusted text on a 1 MB line (worst: ${worst.what})`,
        unit: 'ms',
        stats: stats(samples.map(s => s.ms)),
        target: { max: 100, text: '< 100 ms' }
      }
    ]
  }
}
