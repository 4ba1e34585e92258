// `npm run bench`: what the action costs over a bare shell script doing the same job, and the
// latencies a user waits on, all on the offline fixture (tests/fixtures/offline-iso). Every
// figure comes from this one run, with its repetitions interleaved (A B C A B C …, the order
// rotated each round: the machine is shared and noisy), as median and min–max. Prints a table and
// writes docs/benchmarks.md (figures, the machine, how to run, what each figure measures).
// One file per figure in scripts/bench/figures/; this runner runs them all, or those named:
//   npm run bench -- overhead readiness kvm cold-start cache env-diff memory
//
//   BENCH_REPS       repetitions of the cheap figures (default 5); of the boots too, when set
//   BENCH_BOOT_REPS  rounds of boots (default 3, or BENCH_REPS when that is set)
//   BENCH_ONLY       a subset, comma-separated (as the arguments: `npm run bench -- kvm`)
//   BENCH_OUT        the markdown file (default docs/benchmarks.md; '-' writes none)
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, relative } from 'node:path'
import * as prettier from 'prettier'
import { LAB_DIR, makeFixtureFlake } from '../tests/helpers/lab.js'
import { runBoots, type Variant } from './bench/boots.js'
import { BOOT_REPS, CHEAP_REPS, OUT } from './bench/config.js'
import { snapshotDist } from './bench/dist.js'
import type { BenchData, Figure } from './bench/figure.js'
import { cache } from './bench/figures/cache.js'
import { changesGraph } from './bench/figures/changes-graph.js'
import { coldStart } from './bench/figures/cold-start.js'
import { envDiff } from './bench/figures/env-diff.js'
import { kvm } from './bench/figures/kvm.js'
import { memory } from './bench/figures/memory.js'
import { overhead } from './bench/figures/overhead.js'
import { parsers } from './bench/figures/parsers.js'
import { readiness } from './bench/figures/readiness.js'
import { findings } from './bench/findings.js'
import { machine } from './bench/machine.js'
import { renderMarkdown } from './bench/markdown.js'
import { say, textTable } from './bench/table.js'

/** In the order of the table; cheap samples are taken in this order too. */
const FIGURES: Figure[] = [
  overhead,
  readiness,
  kvm,
  coldStart,
  cache,
  envDiff,
  changesGraph,
  parsers,
  memory
]
/** The order of the boot units in a round (rotated from round to round). */
const UNIT_ORDER: Variant[] = ['action', 'action-kvm-off', 'bare', 'action-env-diff', 'cache-cold']

/** The figures named as arguments or in BENCH_ONLY; all of them when none is named. */
function chosen(): Figure[] {
  const names = [...process.argv.slice(2), ...(process.env.BENCH_ONLY ?? '').split(',')]
    .map(s => s.trim())
    .filter(Boolean)
  for (const name of names) {
    if (!FIGURES.some(figure => figure.name === name)) {
      throw new Error(
        `unknown figure ${name}: one of ${FIGURES.map(figure => figure.name).join(', ')}`
      )
    }
  }
  return names.length ? FIGURES.filter(figure => names.includes(figure.name)) : FIGURES
}

/** Each boot unit once, however many figures need it. */
function unitsOf(figures: Figure[]): Variant[][] {
  const units = new Map<string, Variant[]>()
  for (const unit of figures.flatMap(figure => figure.units)) units.set(unit.join(' '), unit)
  return [...units.values()].sort((a, b) => UNIT_ORDER.indexOf(a[0]) - UNIT_ORDER.indexOf(b[0]))
}

async function main(): Promise<void> {
  const figures = chosen()
  const startedAt = new Date()
  const loadBefore = loadavg()
  const dist = snapshotDist()
  process.on('exit', () => rmSync(dist.dir, { recursive: true, force: true }))
  const flake = makeFixtureFlake()
  const machineRows = machine(dist.hash)
  say(
    `figures: ${figures.map(f => f.name).join(', ')}; reps: ${CHEAP_REPS} (cheap), ${BOOT_REPS} (boots); ` +
      `load ${loadBefore.map(l => l.toFixed(2)).join(' ')}`
  )
  const run = { scripts: dist.scripts, flake }
  const data: BenchData = {
    samples: [],
    of: variant => data.samples.filter(s => s.variant === variant && s.ok),
    kvmSamples: [],
    memorySamples: [],
    coldSamples: [],
    handshakes: { ssh2: [], ssh2Plain: [], openssh: [] }
  }

  // Cheap figures first, interleaved with each other (KVM check, cold start).
  const cheap = figures.filter(figure => figure.cheap)
  for (let i = 1; cheap.length && i <= CHEAP_REPS; i++) {
    const said: string[] = []
    for (const figure of cheap) said.push(await figure.cheap!(data, run))
    say(`cheap ${i}/${CHEAP_REPS}: ${said.join(' ')}`)
  }
  for (const figure of figures) await figure.before?.(data, run)

  // Boots: the units of one round, rotated each round.
  const units = unitsOf(figures)
  if (units.length) Object.assign(data, await runBoots(dist.scripts, flake, units))
  const loadAfter = loadavg()
  const { samples, kvmSamples, coldSamples } = data
  const failed = samples.filter(s => !s.ok)
  const rows = figures.flatMap(figure => figure.rows(data))

  const finishedAt = new Date()
  const notes = findings(rows, samples, dist.dir, kvmSamples)
  process.stdout.write(`\n${textTable(rows)}\n`)
  if (notes.length) process.stdout.write(`\n${notes.map(n => `- ${n}`).join('\n')}\n`)
  if (failed.length) {
    process.stdout.write(`\n${failed.length} boot run(s) failed and are left out:\n`)
    for (const s of failed) process.stdout.write(`  round ${s.round} ${s.variant}: ${s.error}\n`)
  }
  const load = (l: number[]): string => l.map(v => v.toFixed(2)).join(', ')
  process.stdout.write(
    `\nload average (1, 5, 15 min): ${load(loadBefore)} before, ${load(loadAfter)} after\n`
  )
  if (OUT !== '-') {
    const markdown = renderMarkdown({
      rows,
      notes,
      machineRows,
      samples,
      failed,
      coldSamples,
      kvmSamples,
      startedAt,
      finishedAt,
      load: `${load(loadBefore)} at the start, ${load(loadAfter)} at the end`
    })
    // In the repository's style, so that `npm run lint` (prettier --check .) passes on it.
    const style = (await prettier.resolveConfig(OUT)) ?? {}
    writeFileSync(OUT, await prettier.format(markdown, { ...style, filepath: OUT }))
    say(`wrote ${relative(process.cwd(), OUT) || OUT}`)
  }
  rmSync(dist.dir, { recursive: true, force: true })
  if (existsSync(join(LAB_DIR, 'bench')) && readdirSync(join(LAB_DIR, 'bench')).length === 0) {
    rmSync(join(LAB_DIR, 'bench'), { recursive: true, force: true })
  }
}

await main()
