// The memory figure of `npm run bench` (scripts/bench.ts): peak RSS (and what stays held) of the
// build's event handling under a 100 MB build log and of the probe path under 1 GiB of output,
// each in a process of its own (scripts/bench/memory-probe.ts: the probe's stream comes from a
// generator into the handler SshSession uses, not from a guest). No boot.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from '../../../tests/helpers/lab.js'
import type { Figure, MemorySample } from '../figure.js'
import { type Row, stats } from '../table.js'

/** One measurement in a child: `memory-probe.ts <what>`, its JSON line. */
export function measureMemory(what: 'build' | 'probe'): Promise<MemorySample> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(REPO_ROOT, 'node_modules', '.bin', 'vite-node'),
      [join(REPO_ROOT, 'scripts', 'bench', 'memory-probe.ts'), what],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, NODE_OPTIONS: '--expose-gc' },
        stdio: ['ignore', 'pipe', 'inherit']
      }
    )
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.once('error', reject)
    child.once('close', code => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as MemorySample)
      } catch {
        reject(new Error(`memory-probe.ts ${what} exited ${code}: ${out.slice(-500)}`))
      }
    })
  })
}

const MiB = 1024 * 1024

export const memory: Figure = {
  name: 'memory',
  units: [],
  async cheap(data) {
    const build = await measureMemory('build')
    const probe = await measureMemory('probe')
    data.memorySamples.push(build, probe)
    const mib = (s: MemorySample): string => `${Math.round(s.peakRssBytes / MiB)} MiB`
    return `memory build ${mib(build)} probe ${mib(probe)}`
  },
  rows({ memorySamples }) {
    const of = (what: string, key: 'peakRssBytes' | 'retainedBytes'): number[] =>
      memorySamples.filter(s => s.what === what).flatMap(s => (s[key] ? [s[key]] : []))
    const rows: Row[] = [
      {
        figure: 'peak RSS: a 100 MB build log through the build events',
        unit: 'bytes',
        stats: stats(of('build', 'peakRssBytes')),
        target: { max: 512 * MiB, text: '< 512 MiB' }
      },
      {
        figure: '  held at its end (heap + buffers after a full GC)',
        unit: 'bytes',
        stats: stats(of('build', 'retainedBytes'))
      },
      {
        figure: 'peak RSS: a 1 GiB probe output through the probe path',
        unit: 'bytes',
        stats: stats(of('probe', 'peakRssBytes')),
        target: { max: 512 * MiB, text: '< 512 MiB' }
      },
      {
        figure: '  held at its end (heap + buffers after a full GC)',
        unit: 'bytes',
        stats: stats(of('probe', 'retainedBytes'))
      }
    ]
    return rows
  }
}
