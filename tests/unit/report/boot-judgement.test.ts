// Boot time against the recent runs, over figures recorded from two runs of the e2e proof (six
// runs of the unchanged busybox fixture through the bundled action, a CPU hog on one core during
// runs 102, 104 and 106, then the same image with 12 s more in init as run 107) — once on a quiet
// machine, once while other guests ran too (boots of 41–87 s) — and the chart's shape.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseBaseline } from '../../../src/report/baseline.js'
import { bootChart, bootHistoryCsv } from '../../../src/report/boot-chart.js'
import { phasesOf } from '../../../src/report/boot-history.js'
import { historyRows, judgeBoot } from '../../../src/report/boot-judgement.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures')
const recorded = parseBaseline(
  readFileSync(join(FIXTURES, 'baselines', 'v2-busybox-slow-init.json'), 'utf8')
)
const runs = recorded.history // #101 … #106 unchanged, #107 with 12 s more in init
const loaded = parseBaseline(
  readFileSync(join(FIXTURES, 'baselines', 'v2-busybox-slow-init-loaded.json'), 'utf8')
).history

describe('judgeBoot over recorded runs', () => {
  it('judges none of the unchanged runs slower, hog or not', () => {
    const verdicts = runs.slice(0, 6).map((run, i) => judgeBoot(runs.slice(0, i), run, 25).verdict)
    expect(verdicts).toEqual([
      'too-little-history',
      'too-little-history',
      'too-little-history',
      'within-noise',
      'within-noise',
      'within-noise'
    ])
    // The hog doubled the CPU-bound firmware phase (ISOLINUX loading the kernel and initrd).
    const firmware = runs
      .slice(0, 6)
      .map(run => phasesOf(run.milestones, run.bootSeconds).firmware!)
    expect(Math.max(...firmware)).toBeGreaterThan(2 * Math.min(...firmware))
  })

  it('flags 12 s more in init on its first slow run, though the whole boot is within noise', () => {
    const judged = judgeBoot(runs.slice(0, 6), runs[6], 25)
    // 31.4 s against 11.5–24.3 s: the hogged runs' spread covers it...
    expect(judged.band).toMatchObject({ runs: 6, low: 11.5, high: 24.3 })
    expect(judged.seconds).toBeLessThan(judged.band!.high + judged.allowanceSeconds!)
    // ...but not the init phase's, which load hardly moves.
    expect(judged.verdict).toBe('slower')
    expect(judged.slowerPhases).toEqual(['init'])
    expect(judged.sentence).toBe(
      "Boot is slower in init: 13.9 s, past the last 6 runs' 0.9–2.1 s by 11.8 s (2.0 s allowed); " +
        "the whole boot, 31.4 s, is within the noise of the last 6 runs' 11.5–24.3 s (TCG, BIOS)."
    )
  })

  it('flags the same delay when every boot took 40–87 s, and none of the unchanged ones', () => {
    const verdicts = loaded.slice(3, 6).map((run, i) => judgeBoot(loaded.slice(0, i + 3), run, 25))
    expect(verdicts.map(v => v.verdict)).toEqual(['within-noise', 'within-noise', 'within-noise'])
    const judged = judgeBoot(loaded.slice(0, 6), loaded[6], 25)
    expect(judged).toMatchObject({ verdict: 'slower', slowerPhases: ['init'], seconds: 61.3 })
    expect(judged.sentence).toMatch(
      /^Boot is slower in init: 13\.8 s, past the last 6 runs' 1\.7–5\.1 s by 8\.7 s/
    )
  })

  it('does not count a boot that grew alike in every phase, as under load', () => {
    // #101 of the quiet runs, every phase six times as long (TCG boots here took 41–87 s with other guests running): a busier host, not a change.
    const busy = {
      ...runs[0],
      bootSeconds: runs[0].bootSeconds * 6,
      milestones: Object.fromEntries(
        Object.entries(runs[0].milestones).map(([name, at]) => [name, at * 6])
      )
    }
    const judged = judgeBoot(runs.slice(0, 6), busy, 25)
    expect(judged.verdict).toBe('slower-throughout')
    expect(judged.sentence).toMatch(
      /^Boot 69\.0 s is past the last 6 runs' 11\.5–24\.3 s \(TCG, BIOS\) by 44\.7 s, but every phase grew alike, as on a busier host: not counted as a regression\.$/
    )
  })

  it('keeps the slowdown-threshold meaning: a higher percent floor lets the same delay pass', () => {
    expect(judgeBoot(runs.slice(0, 6), runs[6], 25).verdict).toBe('slower')
    expect(judgeBoot(runs.slice(0, 6), runs[6], 2000).verdict).toBe('within-noise')
  })
})

describe('the chart and the table', () => {
  it('draws the runs and this one, the phases as lines, and writes the same figures as CSV', () => {
    const rows = historyRows(runs.slice(0, 6), runs[6])
    const chart = bootChart(rows, 'TCG, BIOS')
    expect(chart.split('\n').slice(0, 6)).toEqual([
      '```mermaid',
      'xychart-beta',
      '    title "Boot time (s), 6 recent runs and this one, TCG, BIOS"',
      '    x-axis ["#101", "#102", "#103", "#104", "#105", "#106", "this run"]',
      '    y-axis "seconds since QEMU started" 0 --> 35',
      '    bar [11.5, 24.3, 13.1, 23.9, 18.5, 16.7, 31.4]'
    ])
    // Four lines: kernel, init, network and sshd reached.
    expect(chart.match(/^ {4}line \[/gm)).toHaveLength(4)
    expect(chart).toContain('    line [10.1, 21.7, 11.7, 19.9, 17.1, 14.5, 16.7]')
    const csv = bootHistoryCsv(rows).trim().split('\n')
    expect(csv[0]).toBe(
      'label,run,finished,current,boot_seconds,firmware_seconds,kernel_seconds,init_seconds,network_seconds,sshd_seconds'
    )
    expect(csv).toHaveLength(8)
    expect(csv[7]).toMatch(
      /^this run,octo-org\/boot-image-vm-test run 107 attempt 1 on main,.*,yes,31\.4,/
    )
    // No chart for a single run.
    expect(bootChart(historyRows([], runs[0]))).toBe('')
  })
})
