// The changes-graph figure run apart (docs/benchmarks-apart.md): five readings of a generated
// NixOS-sized graph (scripts/bench/changes-graph.ts), each parsed, walked and compared, printed.
//   npx vite-node scripts/bench/changes-graph-apart.ts
import { loadavg } from 'node:os'
import { GRAPH_DERIVATIONS } from './changes-graph.js'
import { measureOnce } from './figures/changes-graph.js'

const load = (): string =>
  loadavg()
    .map(l => l.toFixed(1))
    .join(' ')
console.log(`load average before: ${load()}`)
for (let i = 1; i <= 5; i++) {
  const s = measureOnce()
  console.log(
    `reading ${i}: ${GRAPH_DERIVATIONS} derivations, ${(s.jsonBytes / 2 ** 20).toFixed(1)} MiB of JSON: ` +
      `parse and walk ${Math.round(s.readMs)} ms, compare ${Math.round(s.compareMs)} ms, ` +
      `total ${Math.round(s.readMs + s.compareMs)} ms (CPU ${Math.round(s.cpuMs)} ms); ${s.packages} packages in the image, ${s.changed} package changes`
  )
}
console.log(`load average after: ${load()}`)
