import { describe, expect, it } from 'vitest'
import { whatChanged, type ComposedRun } from '../../../../src/report/changes/what-changed.js'
import {
  changesMarkdown,
  changesOutput,
  changesSection
} from '../../../../src/report/changes/render.js'

const then: ComposedRun = {
  createdAt: '2026-11-30T04:00:00.000Z',
  commit: {
    sha: 'abc1234'.padEnd(40, '0'),
    repository: 'octo/img',
    serverUrl: 'https://github.com'
  },
  inputs: [
    {
      name: 'nixpkgs',
      type: 'github',
      owner: 'NixOS',
      repo: 'nixpkgs',
      rev: '1'.repeat(40),
      lastModified: Date.UTC(2026, 10, 20) / 1000
    }
  ],
  packages: { systemd: ['256.1'], linux: ['6.6.30'], bash: ['5.2'] },
  buildPackages: { 'systemd-source': [''] }
}

function now(over: Partial<ComposedRun> = {}): ComposedRun {
  return {
    ...then,
    createdAt: '2026-12-01T04:00:00.000Z',
    commit: { ...then.commit!, sha: 'def5678'.padEnd(40, '0') },
    inputs: [
      { ...then.inputs![0], rev: '2'.repeat(40), lastModified: Date.UTC(2026, 11, 1) / 1000 }
    ],
    packages: { systemd: ['256.2'], linux: ['6.6.31'], bash: ['5.2'], curl: ['8.9'] },
    ...over
  }
}

describe('what changed since the last good run', () => {
  it('a build failure: the changed packages inside the failed derivation’s own closure are the suspects', () => {
    const failed = '/nix/store/x-systemd-256.2.drv'
    const changes = whatChanged(then, now({ failingClosures: { [failed]: ['systemd', 'bash'] } }), {
      failedDrvs: [failed]
    })
    expect(changes.suspects).toMatchObject({ kind: 'build', drv: failed })
    expect(changes.suspects!.packages.map(p => p.name)).toEqual(['systemd'])
    expect(changes.counts).toEqual({ changed: 2, added: 1, removed: 0 })
    expect(changes.sentence).toBe(
      `since the last good run (2026-11-30, abc1234): nixpkgs 2026-11-20 (${'1'.repeat(12)}) → 2026-12-01 (${'2'.repeat(12)}); commits abc1234…def5678; 3 packages changed; in the failing closure: systemd 256.1 → 256.2`
    )
  })

  it('a regression: the image’s changed packages beside the slowed phase and the changed probe', () => {
    const changes = whatChanged(then, now(), { regressed: true, phase: 'init', probes: ['kernel'] })
    expect(changes.suspects).toMatchObject({
      kind: 'regression',
      phase: 'init',
      probes: ['kernel']
    })
    expect(changes.sentence).toContain(
      'in the image: linux 6.6.30 → 6.6.31, systemd 256.1 → 256.2, curl 8.9 (added)'
    )
    expect(changes.sentence).toContain('slower in init; probes changed: kernel')
  })

  it('nothing changed, said so; an older baseline without packages is noted, not a change', () => {
    const same = whatChanged(then, { ...then, createdAt: 'later' })
    expect(same.sentence).toBe(
      'nothing in the inputs, commit or packages changed since the last good run (2026-11-30, abc1234)'
    )
    const old = whatChanged({ createdAt: '2026-11-30T00:00:00Z' }, now())
    expect(old.packages).toEqual([])
    expect(old.notes).toContain('the last good run did not record its packages (an older baseline)')
  })

  it('renders open when regressed, collapsed otherwise; changes.md lists build-only changes apart', () => {
    const changes = whatChanged(
      then,
      now({ buildPackages: { 'systemd-source': [''], 'x.patch': [''] } })
    )
    expect(changesSection(changes, true)).toMatch(
      /^<details open><summary>What the image was made of: changes/
    )
    expect(changesSection(changes, false)).toMatch(/^<details><summary>/)
    expect(changesSection(changes, false)).toContain('| systemd | 256.1 | 256.2 | changed |')
    expect(changesSection(changes, false)).toContain(
      `(https://github.com/octo/img/compare/${'abc1234'.padEnd(40, '0')}...${'def5678'.padEnd(40, '0')})`
    )
    const md = changesMarkdown(changes)
    expect(md).toContain('## Build-only packages')
    expect(md).toContain('| x.patch | – | – | added |  |')
    const output = JSON.parse(changesOutput(changes))
    expect(output.counts).toEqual({ changed: 2, added: 1, removed: 0 })
    expect(output.inputs[0].compareUrl).toContain('/NixOS/nixpkgs/compare/')
    expect(output.commits.before).toBe('abc1234'.padEnd(40, '0'))
  })

  it('escapes what the world wrote: a package name cannot inject markup or a link', () => {
    const evil = whatChanged(
      { createdAt: 'a', packages: {} },
      { createdAt: 'b', packages: { '<img src=x>|`](javascript:x)': ['1'] } }
    )
    const section = changesSection(evil, true)
    expect(section).not.toContain('<img')
    // Brackets are escaped: no unescaped `](` opens a link.
    expect(section).not.toMatch(/[^\\]\]\(javascript/)
  })
})
