import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Log } from '../../../src/shared/log.js'
import { parseBaseline, type Baseline, type BaselineProbe } from '../../../src/report/baseline.js'
import type { BaselineRun } from '../../../src/report/boot-history.js'
import { compareWithBaseline, noComparison, unifiedDiff } from '../../../src/report/compare.js'
import { annotateComparison, comparisonSection } from '../../../src/report/comparison-section.js'
import { renderSummary } from '../../../src/report/summary.js'
import { passedReport } from './fixtures.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures')

function probe(name: string, output: string, over: Partial<BaselineProbe> = {}): BaselineProbe {
  return {
    name,
    required: true,
    exitCode: 0,
    timedOut: false,
    missing: false,
    digest: `digest-of-${output}`,
    output,
    ...over
  }
}

/** Milestones of a boot of `boot` seconds: phases firmware 1, kernel 2, init 3 (+ extraInit), network 2. */
function milestones(extraInit = 0): Record<string, number> {
  return { kernel: 1, init: 3, network: 6 + extraInit, sshd: 8 + extraInit, ready: 8.1 + extraInit }
}

/** The window: five earlier KVM runs of 18–22 s. */
function history(boots = [18, 20, 22, 19, 21], over: Partial<BaselineRun> = {}): BaselineRun[] {
  return boots.map((bootSeconds, i) => ({
    createdAt: `2026-11-2${i}T03:00:00.000Z`,
    run: `o/r run ${i + 1} attempt 1 on main`,
    label: `#${i + 1}`,
    accel: 'kvm',
    bootSeconds,
    milestones: milestones(),
    ...over
  }))
}

function baseline(over: Partial<Baseline> = {}): Baseline {
  return {
    schemaVersion: 2,
    createdAt: '2026-11-24T03:00:00.000Z',
    run: 'o/r run 1 attempt 1 on main',
    result: 'passed',
    image: { attribute: 'bootImage', isoBytes: 1_000_000, closureBytes: 5_000_000 },
    nix: { version: '2.31.2', variant: 'nix' },
    accel: 'kvm',
    bootSeconds: 20,
    milestones: milestones(),
    history: history(),
    failedUnits: ['old.service'],
    systemState: 'degraded',
    probes: [probe('kernel', 'Linux 6.1\n'), probe('journal', 'a\n', { required: false })],
    test: { exitCode: 0, timedOut: false },
    ...over
  }
}

const options = { slowdownThresholdPercent: 25, source: 'key/1-1' }

describe('compareWithBaseline', () => {
  it('says nothing changed when only noise differs, and says the boot is within noise', () => {
    const now = baseline({
      createdAt: '2026-11-25T03:00:00.000Z',
      bootSeconds: 24, // past the slowest run by 2 s: within the 5 s (25% of 20 s) allowed
      image: { attribute: 'bootImage', isoBytes: 1_002_048, drvPath: '/nix/store/other.drv' }
    })
    const comparison = compareWithBaseline(baseline(), now, options)
    expect(comparison.status).toBe('unchanged')
    expect(comparison.regressions).toEqual([])
    expect(comparison.changes).toEqual([])
    expect(comparison.detail).toBe(
      'Nothing changed since the last good run (2026-11-24T03:00:00.000Z).'
    )
    expect(comparison.bootSeconds).toEqual({ before: 20, after: 24, deltaPercent: 20 })
    expect(comparison.boot).toMatchObject({
      verdict: 'within-noise',
      band: { runs: 5, low: 18, high: 22, median: 20 },
      allowanceSeconds: 5
    })
    expect(comparison.boot?.sentence).toBe(
      "Boot 24.0 s, within the noise of the last 5 runs' 18.0–22.0 s (KVM): 5.0 s allowed either side."
    )
    const inside = compareWithBaseline(baseline(), baseline({ bootSeconds: 21.5 }), options)
    expect(inside.boot?.sentence).toBe("Boot 21.5 s, within the last 5 runs' 18.0–22.0 s (KVM).")
    expect(comparison.baselineSource).toBe('key/1-1')
  })

  it('flags a boot past the band by more than the allowance, naming the phase that grew', () => {
    const now = baseline({ bootSeconds: 30, milestones: milestones(10) })
    const slower = compareWithBaseline(baseline(), now, options)
    expect(slower.regressions).toEqual([
      {
        kind: 'boot-time',
        subject: 'init',
        summary:
          "Boot is slower: 30.0 s, past the last 5 runs' 18.0–22.0 s (KVM) by 8.0 s (5.0 s allowed); slower in init 13.0 s (was 3.0 s).",
        before: 22,
        after: 30
      }
    ])
    expect(slower.boot?.phases.map(p => [p.name, p.seconds, p.slower])).toEqual([
      ['firmware', 1, false],
      ['kernel', 2, false],
      ['init', 13, true],
      ['network', 2, false],
      ['sshd', 12, false]
    ])
    const faster = compareWithBaseline(baseline(), baseline({ bootSeconds: 10 }), options)
    expect(faster.regressions).toEqual([])
    expect(faster.changes?.map(c => c.summary)).toEqual([
      "Boot is faster: 10.0 s, under the last 5 runs' 18.0–22.0 s (KVM) by 8.0 s."
    ])
    // Short boots: the floor in seconds holds whatever the percentage (4.1 s is +86%).
    const short = compareWithBaseline(
      baseline({ history: history([2, 2.1, 2.2, 2, 2.1]) }),
      baseline({ bootSeconds: 4.1 }),
      options
    )
    expect(short.status).toBe('unchanged')
    expect(short.boot?.verdict).toBe('within-noise')
  })

  it("does not judge with too little history: the issue's two false alarms", () => {
    // "Boot is slower: 12.5 s → 20.7 s (+65.6%)" and "8.3 s → 10.4 s (+25.3%)", unchanged image.
    for (const [then, now] of [
      [12.5, 20.7],
      [8.3, 10.4]
    ]) {
      const comparison = compareWithBaseline(
        baseline({ accel: 'tcg', history: history([then], { accel: 'tcg' }) }),
        baseline({ accel: 'tcg', bootSeconds: now }),
        options
      )
      expect(comparison.regressions).toEqual([])
      expect(comparison.boot?.verdict).toBe('too-little-history')
      // Both times in words, and a boot this far from the only earlier one is no "Nothing changed".
      expect(comparison.boot?.sentence).toBe(
        `Boot ${now.toFixed(1)} s, against ${then.toFixed(1)} s in the only earlier run with TCG: too little history to judge (3 needed).`
      )
      expect(comparison.status).toBe('changed')
      expect(comparison.changes?.map(c => [c.kind, c.regression])).toEqual([['boot-time', false]])
    }
    // The issue's headline: 20.3 s after one run of 10.4 s.
    const issue = compareWithBaseline(
      baseline({ accel: 'tcg', history: history([10.4, 10.9], { accel: 'tcg' }) }),
      baseline({ accel: 'tcg', bootSeconds: 20.3 }),
      options
    )
    expect(issue.boot?.sentence).toBe(
      'Boot 20.3 s, against 10.4 s and 10.9 s in the 2 earlier runs with TCG: too little history to judge (3 needed).'
    )
    expect(issue.detail).not.toContain('Nothing changed')
    // Close to the earlier run: nothing changed, said so.
    const close = compareWithBaseline(
      baseline({ accel: 'tcg', history: history([10.4], { accel: 'tcg' }) }),
      baseline({ accel: 'tcg', bootSeconds: 11.2 }),
      options
    )
    expect(close.status).toBe('unchanged')
  })

  it('never judges a TCG boot against KVM runs, nor a UEFI boot against BIOS ones', () => {
    const tcg = compareWithBaseline(
      baseline(),
      baseline({ accel: 'tcg', bootSeconds: 90 }),
      options
    )
    expect(tcg.boot?.verdict).toBe('too-little-history')
    expect(tcg.boot?.sentence).toMatch(/no earlier passing run with TCG \(3 needed\)\.$/)
    expect(tcg.regressions.map(r => r.kind)).toEqual(['accelerator'])
    const bios = history(undefined, { firmware: 'bios' })
    const uefi = compareWithBaseline(
      baseline({ history: bios }),
      baseline({ firmware: 'uefi', bootSeconds: 90 }),
      options
    )
    expect(uefi.boot?.verdict).toBe('too-little-history')
    // A version 1 run does not say its firmware: it counts for either.
    const unknown = compareWithBaseline(
      baseline(),
      baseline({ firmware: 'uefi', bootSeconds: 90 }),
      options
    )
    expect(unknown.boot?.verdict).toBe('slower')
  })

  it('reads a version 1 baseline as a window of one run', () => {
    const v1 = parseBaseline(readFileSync(join(FIXTURES, 'baselines', 'v1-baseline.json'), 'utf8'))
    const comparison = compareWithBaseline(
      v1,
      { ...v1, createdAt: '2026-11-25T03:00:00.000Z', bootSeconds: 10.4, history: [] },
      options
    )
    expect(comparison.boot?.verdict).toBe('too-little-history')
    expect(comparison.boot?.band).toEqual({ runs: 1, low: 9.84, high: 9.84, median: 9.84 })
    expect(comparison.history?.map(row => row.label)).toEqual(['#97', 'this run'])
    expect(comparison.status).toBe('unchanged')
  })

  it('reports new and resolved failed units, the system state, Nix and the accelerator', () => {
    const now = baseline({
      failedUnits: ['new.service'],
      systemState: 'running',
      nix: { version: '2.32.0', variant: 'nix' },
      accel: 'tcg'
    })
    const comparison = compareWithBaseline(baseline(), now, options)
    expect(comparison.changes?.map(c => [c.kind, c.regression, c.summary])).toEqual([
      ['failed-unit', true, 'Unit new.service fails now.'],
      ['resolved-unit', false, 'Unit old.service no longer fails.'],
      ['system-state', false, 'System state: degraded → running.'],
      ['nix-version', false, 'Nix: nix 2.31.2 → nix 2.32.0.'],
      ['accelerator', true, 'Accelerator: kvm → tcg.']
    ])
    expect(comparison.regressions.map(r => r.kind)).toEqual(['failed-unit', 'accelerator'])
    expect(comparison.detail).toMatch(
      /^5 changes since the last good run .*, 2 of them regressions\.$/
    )
  })

  it('reports a probe whose result or output changed, with a diff; a log never regresses', () => {
    const now = baseline({
      probes: [
        probe('kernel', 'Linux 6.2\n', { exitCode: 1 }),
        probe('journal', 'b\n', { required: false }),
        probe('dns', 'nameserver <ipv4>\n')
      ]
    })
    const comparison = compareWithBaseline(baseline(), now, options)
    expect(comparison.changes?.map(c => [c.kind, c.subject, c.regression])).toEqual([
      ['probe-result', 'kernel', true],
      ['probe-output', 'kernel', true],
      ['probe-output', 'journal', false],
      ['probe-added', 'dns', false]
    ])
    const diff = comparison.changes![1].diff
    expect(diff).toBe(
      [
        '--- kernel (last good run)',
        '+++ kernel (this run)',
        '@@ -1,1 +1,1 @@',
        '-Linux 6.1',
        '+Linux 6.2'
      ].join('\n')
    )
    // The regressions output carries no diff.
    expect(comparison.regressions.every(r => !('diff' in r))).toBe(true)
  })

  it('names a worse result and compares only what a run that did not boot has', () => {
    const now = baseline({
      result: 'boot-failed',
      bootSeconds: undefined,
      probes: undefined,
      failedUnits: undefined,
      systemState: undefined,
      test: undefined
    })
    const comparison = compareWithBaseline(baseline(), now, options)
    expect(comparison.regressions).toEqual([
      {
        kind: 'result',
        summary: 'Result: passed → boot-failed.',
        before: 'passed',
        after: 'boot-failed'
      }
    ])
    expect(comparison.detail).toMatch(/did not reach the probes/)
  })

  it('shows size changes above 1% (never regressions)', () => {
    const now = baseline({ image: { isoBytes: 1_200_000, closureBytes: 5_000_000 } })
    const comparison = compareWithBaseline(baseline(), now, options)
    expect(comparison.changes?.map(c => [c.summary, c.regression])).toEqual([
      ['ISO size: 976.6 KiB → 1.1 MiB (+20%).', false]
    ])
  })
})

describe('unifiedDiff', () => {
  it('is empty for equal texts and shows hunks with context', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n')).toBe('')
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n')
    const after = ['1', '2', 'three', '4', '5', '6', '7', '8', '9', '10', '11'].join('\n')
    expect(unifiedDiff(before, after)).toBe(
      [
        '--- before',
        '+++ after',
        '@@ -1,5 +1,5 @@',
        ' 1',
        ' 2',
        '-3',
        '+three',
        ' 4',
        ' 5',
        '@@ -9,2 +9,3 @@',
        ' 9',
        ' 10',
        '+11'
      ].join('\n')
    )
  })

  it('handles empty sides and cuts long diffs', () => {
    expect(unifiedDiff('', 'x\n')).toBe('--- before\n+++ after\n@@ -0,0 +1,1 @@\n+x')
    const many = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n')
    const diff = unifiedDiff('', many, { maxLines: 10 })
    expect(diff.split('\n')).toHaveLength(11)
    expect(diff).toMatch(/… 93 more diff lines$/)
  })
})

describe('the summary section and annotations', () => {
  it('says plainly that nothing changed, with the numbers', () => {
    const report = passedReport()
    report.comparison = compareWithBaseline(baseline(), baseline({ bootSeconds: 21 }), options)
    const section = comparisonSection(report.comparison)
    expect(section).toContain('### Compared with the last good run')
    expect(section).toContain('**Nothing changed** since the last good run.')
    expect(section).toContain(
      "**Boot time:** Boot 21.0 s, within the last 5 runs' 18.0–22.0 s (KVM)."
    )
    // The chart: five runs and this one, a bar each, a line per phase boundary.
    expect(section).toContain(
      [
        '```mermaid',
        'xychart-beta',
        '    title "Boot time (s), 5 recent runs and this one, KVM"',
        '    x-axis ["#1", "#2", "#3", "#4", "#5", "this run"]',
        '    y-axis "seconds since QEMU started" 0 --> 25',
        '    bar [18.0, 20.0, 22.0, 19.0, 21.0, 21.0]',
        '    line [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]',
        '    line [3.0, 3.0, 3.0, 3.0, 3.0, 3.0]',
        '    line [6.0, 6.0, 6.0, 6.0, 6.0, 6.0]',
        '    line [8.0, 8.0, 8.0, 8.0, 8.0, 8.0]',
        '```'
      ].join('\n')
    )
    expect(section).toContain(
      '| **this run** | 2026-11-24T03:00:00.000Z | 21.0 | 1.0 | 2.0 | 3.0 | 2.0 | 13.0 |'
    )
    expect(renderSummary(report)).toContain('### Compared with the last good run')
  })

  it('lists regressions first-class, folds diffs, and annotates the slowdown first', () => {
    const now = baseline({
      bootSeconds: 30,
      milestones: milestones(10),
      probes: [probe('kernel', 'Linux 6.2\n'), probe('journal', 'a\n', { required: false })]
    })
    const comparison = compareWithBaseline(baseline(), now, options)
    const section = comparisonSection(comparison)
    expect(section).toContain('**2 regressions**, 2 changes in all:')
    expect(section).toContain("- ⚠️ Boot is slower: 30.0 s, past the last 5 runs' 18.0–22.0 s")
    expect(section).not.toContain('**Boot time:**')
    expect(section).toContain('<details><summary>Diff: kernel</summary>')
    expect(section).toContain('```diff\n--- kernel (last good run)')
    const warnings: [string, string | undefined][] = []
    const log = { warning: (m: string, a?: { title?: string }) => warnings.push([m, a?.title]) }
    annotateComparison(comparison, log as unknown as Log)
    expect(warnings.map(w => w[1])).toEqual([
      'Boot slower than the recent runs',
      'Regression since the last good run (probe-output)'
    ])
  })

  it('says why there is nothing to compare, and nothing when off', () => {
    expect(comparisonSection(noComparison('no-baseline', 'no baseline under k/'))).toContain(
      'No earlier passing run of this image to compare with: no baseline under k/.'
    )
    expect(comparisonSection(noComparison('off', "input 'compare' is off"))).toBe('')
    expect(comparisonSection(undefined)).toBe('')
  })
})
