import { describe, expect, it } from 'vitest'
import type { Log } from '../../../src/log.js'
import type { Baseline, BaselineProbe } from '../../../src/report/baseline.js'
import { compareWithBaseline, noComparison, unifiedDiff } from '../../../src/report/compare.js'
import { annotateComparison, comparisonSection } from '../../../src/report/comparison-section.js'
import { renderSummary } from '../../../src/report/summary.js'
import { passedReport } from './fixtures.js'

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

function baseline(over: Partial<Baseline> = {}): Baseline {
  return {
    schemaVersion: 1,
    createdAt: '2026-11-24T03:00:00.000Z',
    run: 'o/r run 1 attempt 1 on main',
    result: 'passed',
    image: { attribute: 'bootImage', isoBytes: 1_000_000, closureBytes: 5_000_000 },
    nix: { version: '2.31.2', variant: 'nix' },
    accel: 'kvm',
    bootSeconds: 20,
    milestones: { kernel: 1, ready: 20 },
    failedUnits: ['old.service'],
    systemState: 'degraded',
    probes: [probe('kernel', 'Linux 6.1\n'), probe('journal', 'a\n', { required: false })],
    test: { exitCode: 0, timedOut: false },
    ...over
  }
}

const options = { slowdownThresholdPercent: 25, source: 'key/1-1' }

describe('compareWithBaseline', () => {
  it('says nothing changed when only noise differs', () => {
    const now = baseline({
      createdAt: '2026-11-25T03:00:00.000Z',
      bootSeconds: 24, // +20%, under the threshold
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
    expect(comparison.baselineSource).toBe('key/1-1')
  })

  it('flags a slowdown above the threshold as a regression, and a speed-up as a change', () => {
    const slower = compareWithBaseline(baseline(), baseline({ bootSeconds: 26 }), options)
    expect(slower.regressions).toEqual([
      {
        kind: 'boot-time',
        summary: 'Boot is slower: 20.0 s → 26.0 s (+30%), more than the 25% allowed.',
        before: 20,
        after: 26
      }
    ])
    const faster = compareWithBaseline(baseline(), baseline({ bootSeconds: 10 }), options)
    expect(faster.regressions).toEqual([])
    expect(faster.changes?.map(c => c.summary)).toEqual(['Boot is faster: 20.0 s → 10.0 s (-50%).'])
    // Short boots: under a second more is noise, whatever the percentage.
    const short = compareWithBaseline(
      baseline({ bootSeconds: 2 }),
      baseline({ bootSeconds: 2.9 }),
      options
    )
    expect(short.status).toBe('unchanged')
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
    expect(section).toContain('| Boot (s), allowed +25% | 20.0 | 21.0 | +5% |')
    expect(renderSummary(report)).toContain('### Compared with the last good run')
  })

  it('lists regressions first-class, folds diffs, and annotates the slowdown first', () => {
    const now = baseline({
      bootSeconds: 60,
      probes: [probe('kernel', 'Linux 6.2\n'), probe('journal', 'a\n', { required: false })]
    })
    const comparison = compareWithBaseline(baseline(), now, options)
    const section = comparisonSection(comparison)
    expect(section).toContain('**2 regressions**, 2 changes in all:')
    expect(section).toContain('- ⚠️ Boot is slower: 20.0 s → 60.0 s (+200%)')
    expect(section).toContain('<details><summary>Diff: kernel</summary>')
    expect(section).toContain('```diff\n--- kernel (last good run)')
    const warnings: [string, string | undefined][] = []
    const log = { warning: (m: string, a?: { title?: string }) => warnings.push([m, a?.title]) }
    annotateComparison(comparison, log as unknown as Log)
    expect(warnings.map(w => w[1])).toEqual([
      'Boot slower than the last good run',
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
