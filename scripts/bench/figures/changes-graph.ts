// The changes-graph figure: what reading what the image was made of costs on a NixOS-sized graph
// (scripts/bench/changes-graph.ts generates 30 000 derivations in `nix derivation show -r`'s
// shape): the graph parsed and walked into packages (runtime closure, build noise apart, a failed
// derivation's closure) and compared with the last good run's. Nix's own printing of the graph
// is not in it (on the fixture it takes tens of milliseconds; on a real system, Nix's time).
// Part of `npm run bench -- changes-graph`; run apart: `npx vite-node scripts/bench/changes-graph-apart.ts`.
import { compositionFrom } from '../../../src/report/changes/composition.js'
import { whatChanged } from '../../../src/report/changes/what-changed.js'
import type { Figure } from '../figure.js'
import { generateGraph, GRAPH_DERIVATIONS, type GeneratedGraph } from '../changes-graph.js'
import { stats, type Row } from '../table.js'

interface Sample {
  /** CPU time (user + system) of reading and comparing: what it costs, whatever else runs. */
  cpuMs: number
  readMs: number
  compareMs: number
  packages: number
  changed: number
}

let graphs: { then: GeneratedGraph; now: GeneratedGraph } | undefined
const samples: Sample[] = []

/** One reading of this run's graph and its comparison with the last good run's. */
export function measureOnce(): Sample & { jsonBytes: number } {
  graphs ??= { then: generateGraph(GRAPH_DERIVATIONS, 0), now: generateGraph(GRAPH_DERIVATIONS, 1) }
  const { then, now } = graphs
  const read = (g: GeneratedGraph) =>
    compositionFrom(
      { graph: g.json, runtime: g.runtime, notes: [] },
      { drvPath: g.root, failedDrvs: [g.failed] }
    )
  const before = read(then)
  const cpu = process.cpuUsage()
  const started = performance.now()
  const after = read(now)
  const readMs = performance.now() - started
  const compared = performance.now()
  const changes = whatChanged({ createdAt: 'then', ...before }, { createdAt: 'now', ...after })
  const compareMs = performance.now() - compared
  const used = process.cpuUsage(cpu)
  return {
    jsonBytes: now.json.length,
    cpuMs: (used.user + used.system) / 1000,
    readMs,
    compareMs,
    packages: Object.keys(after.packages ?? {}).length,
    changed: changes.packages.length
  }
}

export const changesGraph: Figure = {
  name: 'changes-graph',
  units: [],
  async cheap() {
    const sample = measureOnce()
    samples.push(sample)
    return `changes-graph ${Math.round(sample.cpuMs)} ms CPU`
  },
  rows() {
    const mb = graphs ? (graphs.now.json.length / 2 ** 20).toFixed(0) : '?'
    const rows: Row[] = [
      {
        figure: `what changed: read a ${GRAPH_DERIVATIONS}-derivation graph (${mb} MiB of JSON) and compare, CPU`,
        unit: 'ms',
        stats: stats(samples.map(s => s.cpuMs)),
        target: { max: 1000, text: '< 1 s' }
      },
      {
        figure: 'the same, wall clock (grows with the load of the machine)',
        unit: 'ms',
        stats: stats(samples.map(s => s.readMs + s.compareMs))
      }
    ]
    return rows
  }
}
