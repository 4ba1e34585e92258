import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseBaseline, type Baseline } from '../../../src/report/baseline.js'
import { compareWithBaseline } from '../../../src/report/compare.js'
import type { Log } from '../../../src/shared/log.js'
import { annotateComparison, comparisonSection } from '../../../src/report/comparison-section.js'

const PKGSRC = { name: 'pkgsrc', type: 'git', url: 'file:///srv/pkgsrc', ref: 'master' }

function baseline(over: Partial<Baseline> = {}): Baseline {
  return {
    schemaVersion: 2,
    createdAt: '2026-11-30T03:00:00.000Z',
    result: 'passed',
    image: { attribute: 'bootImage' },
    milestones: {},
    history: [],
    commit: { sha: 'a'.repeat(40), repository: 'o/r', serverUrl: 'https://github.com' },
    inputs: [{ ...PKGSRC, rev: '1'.repeat(40), lastModified: 1796000000 }],
    packages: { libfoo: ['1.0'], busybox: ['1.36'] },
    buildPackages: {},
    ...over
  }
}

const options = { slowdownThresholdPercent: 25 }

describe('the comparison says what the image was made of', () => {
  it('the issue’s two-run case: the input’s revision and the package version, both values', () => {
    const now = baseline({
      createdAt: '2026-12-01T03:00:00.000Z',
      inputs: [{ ...PKGSRC, rev: '2'.repeat(40), lastModified: 1796600000 }],
      packages: { libfoo: ['1.1'], busybox: ['1.36'] }
    })
    const comparison = compareWithBaseline(baseline(), now, options)
    expect(comparison.status).toBe('changed')
    expect(comparison.regressions).toEqual([])
    expect(comparison.changes?.map(c => c.summary)).toEqual([
      `Input pkgsrc 2026-11-30 (${'1'.repeat(12)}) → 2026-12-06 (${'2'.repeat(12)}).`,
      '1 package changed: libfoo 1.0 → 1.1.'
    ])
    expect(comparison.detail).toContain('; 1 package changed.')
    // Nothing regressed: the part is there, collapsed.
    const section = comparisonSection(comparison)
    expect(section).toContain('<details><summary>What the image was made of: changes')
    expect(section).toContain('| libfoo | 1.0 | 1.1 | changed |')
  })

  it('a build failure: the changed package in the failed derivation’s closure is named as the suspect, on the first screen', () => {
    const failed = '/nix/store/' + 'f'.repeat(32) + '-uses-libfoo.drv'
    const now = baseline({
      result: 'build-failed',
      packages: { libfoo: ['1.1'], busybox: ['1.37'] },
      failingClosures: { [failed]: ['uses-libfoo', 'libfoo'] }
    })
    const comparison = compareWithBaseline(baseline(), now, options)
    expect(comparison.imageChanges?.suspects).toMatchObject({ kind: 'build', drv: failed })
    expect(comparison.imageChanges?.suspects?.packages.map(p => p.name)).toEqual(['libfoo'])
    expect(comparison.detail).toContain('in the failing closure: libfoo 1.0 → 1.1')
    expect(comparisonSection(comparison)).toContain(
      '<details open><summary>What the image was made of'
    )
    // And an annotation names the suspect beside the failure.
    const warnings: [string, string | undefined][] = []
    const log = { warning: (m: string, a?: { title?: string }) => warnings.push([m, a?.title]) }
    annotateComparison(comparison, log as unknown as Log)
    expect(warnings.at(-1)).toEqual([
      expect.stringMatching(
        /^Since the last good run .*in the failing closure: libfoo 1\.0 → 1\.1\.$/
      ),
      'What changed since the last good run'
    ])
  })

  it('nothing changed: said so only when no input, package, commit, probe or figure changed', () => {
    const same = compareWithBaseline(
      baseline(),
      baseline({ createdAt: '2026-12-01T03:00:00.000Z' }),
      options
    )
    expect(same.status).toBe('unchanged')
    expect(same.detail).toMatch(/^Nothing changed since/)
    const commit = compareWithBaseline(
      baseline(),
      baseline({
        commit: { sha: 'b'.repeat(40), repository: 'o/r', serverUrl: 'https://github.com' }
      }),
      options
    )
    expect(commit.status).toBe('changed')
    expect(commit.imageChanges?.commits?.compareUrl).toBe(
      `https://github.com/o/r/compare/${'a'.repeat(40)}...${'b'.repeat(40)}`
    )
  })

  it('an older baseline without packages: noted, compared for the rest', () => {
    const old = baseline({
      packages: undefined,
      inputs: undefined,
      commit: undefined,
      buildPackages: undefined
    })
    const comparison = compareWithBaseline(old, baseline(), options)
    expect(comparison.status).toBe('unchanged')
    expect(comparison.imageChanges?.notes).toContain(
      'the last good run did not record its packages (an older baseline)'
    )
  })

  it('reads a real baseline with its composition, and the older ones beside it', () => {
    const dir = join(import.meta.dirname, '..', '..', 'fixtures', 'baselines')
    const read = (name: string) => parseBaseline(readFileSync(join(dir, name), 'utf8'))
    const made = read('v2-with-composition.json')
    expect(made.inputs?.[0]).toMatchObject({ name: 'pkgsrc', type: 'git', rev: expect.any(String) })
    expect(made.packages?.libfoo).toEqual(['1.0'])
    const next = {
      ...made,
      createdAt: '2026-12-07T00:00:00.000Z',
      inputs: [{ ...made.inputs![0], rev: 'f'.repeat(40) }],
      packages: { ...made.packages, libfoo: ['1.1'] }
    }
    const comparison = compareWithBaseline(made, next, options)
    expect(comparison.changes?.map(c => c.kind)).toEqual(['input', 'packages'])
    // Baselines written before the composition: compared as before, the gap noted.
    for (const old of ['v1-baseline.json', 'v2-busybox-slow-init.json']) {
      const older = compareWithBaseline(
        read(old),
        { ...made, createdAt: '2026-12-07T00:00:00.000Z' },
        options
      )
      expect(older.changes?.filter(c => ['input', 'commit', 'packages'].includes(c.kind))).toEqual(
        []
      )
      expect(older.imageChanges?.notes).toContain(
        'the last good run did not record its packages (an older baseline)'
      )
    }
  })
})
