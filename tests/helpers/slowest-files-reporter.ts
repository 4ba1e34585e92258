// `npm test` ends with where its time went: each tier's total (unit, integration, e2e) and the
// slowest files, so a change that makes the suite slower shows it (CI's limit is 90 minutes).
import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'

const SHOWN = 12

export default class SlowestFilesReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const timed = modules.map(module => ({
      file: relative(process.cwd(), module.moduleId),
      seconds: module.diagnostic().duration / 1000
    }))
    if (timed.length === 0) return
    const tiers = new Map<string, number>()
    for (const { file, seconds } of timed) {
      const tier = /^tests\/(unit|integration|e2e)\//.exec(file)?.[1] ?? 'other'
      tiers.set(tier, (tiers.get(tier) ?? 0) + seconds)
    }
    const lines = [...tiers].map(([tier, seconds]) => `  ${tier}: ${minutes(seconds)}`)
    const slowest = [...timed].sort((a, b) => b.seconds - a.seconds).slice(0, SHOWN)
    lines.push(`  slowest files:`)
    for (const { file, seconds } of slowest) lines.push(`    ${minutes(seconds)}  ${file}`)
    process.stdout.write(`\nTime by tier:\n${lines.join('\n')}\n`)
  }
}

function minutes(seconds: number): string {
  return seconds >= 60 ? `${(seconds / 60).toFixed(1)} min` : `${seconds.toFixed(1)} s`
}
