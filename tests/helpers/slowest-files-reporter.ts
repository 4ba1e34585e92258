// `npm test` ends with where its time went: each tier's total (unit, integration, e2e) and the
// slowest files, so a change that makes the suite slower shows it (CI's limit is 90 minutes). The
// lanes (vitest.config.ts's projects) run at once, so the wall time is said apart from the sums.
import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'

const SHOWN = 12

export default class SlowestFilesReporter implements Reporter {
  private started = Date.now()

  onTestRunStart(): void {
    this.started = Date.now()
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const timed = modules.map(module => ({
      file: relative(process.cwd(), module.moduleId),
      lane: module.project.name || 'default',
      seconds: module.diagnostic().duration / 1000
    }))
    if (timed.length === 0) return
    const tiers = new Map<string, number>()
    const lanes = new Map<string, number>()
    for (const { file, lane, seconds } of timed) {
      const tier = /^tests\/(unit|integration|e2e)\//.exec(file)?.[1] ?? 'other'
      tiers.set(tier, (tiers.get(tier) ?? 0) + seconds)
      lanes.set(lane, (lanes.get(lane) ?? 0) + seconds)
    }
    const lines = [`  wall time: ${minutes((Date.now() - this.started) / 1000)}`]
    const laneTimes = [...lanes].map(([lane, seconds]) => `${lane} ${minutes(seconds)}`)
    lines.push(`  lanes, run at once: ${laneTimes.join(', ')}`)
    lines.push(...[...tiers].map(([tier, seconds]) => `  ${tier}: ${minutes(seconds)}`))
    const slowest = [...timed].sort((a, b) => b.seconds - a.seconds).slice(0, SHOWN)
    lines.push(`  slowest files:`)
    for (const { file, seconds } of slowest) lines.push(`    ${minutes(seconds)}  ${file}`)
    process.stdout.write(`\nTime by tier:\n${lines.join('\n')}\n`)
  }
}

function minutes(seconds: number): string {
  return seconds >= 60 ? `${(seconds / 60).toFixed(1)} min` : `${seconds.toFixed(1)} s`
}
