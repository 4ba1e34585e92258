import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { FlakeInput } from '../../../../src/model/index.js'
import {
  commitRange,
  diffInputs,
  diffPackages,
  inputText,
  lockDate
} from '../../../../src/report/changes/diff.js'
import { inputsFromMetadata, parseFlakeLock } from '../../../../src/report/changes/flake-lock.js'

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'changes')
const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')

const NIXPKGS_OLD: FlakeInput = {
  name: 'nixpkgs',
  type: 'github',
  owner: 'NixOS',
  repo: 'nixpkgs',
  rev: 'a'.repeat(40),
  lastModified: Date.UTC(2026, 10, 20) / 1000
}
const NIXPKGS_NEW: FlakeInput = {
  ...NIXPKGS_OLD,
  rev: 'b'.repeat(40),
  lastModified: Date.UTC(2026, 11, 1) / 1000
}

describe('flake.lock', () => {
  it('reads a git input as Nix 2.8 locks it', () => {
    expect(parseFlakeLock(read('flake-1.0.lock'))).toEqual([
      {
        name: 'pkgsrc',
        type: 'git',
        url: 'file:///tmp/h24/pkgsrc',
        ref: 'master',
        rev: 'a19563f47e8c315d5be40926dd5aa7f5d2c6d8ad',
        lastModified: 1796521751,
        narHash: 'sha256-/YkoJvki/iN9cM/MEJED/CwwCxz56jXLPpSpM/lS1cw='
      }
    ])
  })

  it("names an input's own inputs by their path, and a follows is no new input", () => {
    const lock = {
      version: 7,
      root: 'root',
      nodes: {
        root: { inputs: { nixpkgs: 'nixpkgs', hm: 'hm' } },
        nixpkgs: { locked: { type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev: 'r1' } },
        hm: {
          inputs: { nixpkgs: ['nixpkgs'], utils: 'utils' },
          locked: { type: 'github', owner: 'nix-community', repo: 'home-manager', rev: 'r2' }
        },
        utils: { locked: { type: 'tarball', url: 'https://example.org/u.tar.gz' } }
      }
    }
    expect(parseFlakeLock(JSON.stringify(lock)).map(i => i.name)).toEqual([
      'nixpkgs',
      'hm',
      'hm/utils'
    ])
    expect(inputsFromMetadata(JSON.stringify({ locks: lock }))).toHaveLength(3)
  })

  it('keeps no credentials a locked URL carries', () => {
    const lock = {
      root: 'root',
      nodes: {
        root: { inputs: { priv: 'priv' } },
        priv: {
          locked: { type: 'git', url: 'https://x-access-token:ghs_secret@github.com/o/p.git' }
        }
      }
    }
    expect(parseFlakeLock(JSON.stringify(lock))[0].url).toBe('https://github.com/o/p.git')
  })

  it('gives nothing for text that is no lock', () => {
    expect(parseFlakeLock('not json')).toEqual([])
    expect(parseFlakeLock('{"nodes": 3}')).toEqual([])
  })
})

describe('inputs, commits and packages, then and now', () => {
  it('an updated GitHub input: both revisions and dates, and the compare link', () => {
    const [change] = diffInputs([NIXPKGS_OLD], [NIXPKGS_NEW])
    expect(change).toMatchObject({
      name: 'nixpkgs',
      kind: 'updated',
      before: { rev: 'a'.repeat(40), date: '2026-11-20' },
      after: { rev: 'b'.repeat(40), date: '2026-12-01' },
      compareUrl: `https://github.com/NixOS/nixpkgs/compare/${'a'.repeat(40)}...${'b'.repeat(40)}`
    })
    expect(inputText(change)).toBe(
      `nixpkgs 2026-11-20 (${'a'.repeat(12)}) → 2026-12-01 (${'b'.repeat(12)})`
    )
  })

  it('inputs added and removed; an unchanged one is not listed; a git input gets no link', () => {
    const git: FlakeInput = { name: 'pkgsrc', type: 'git', url: 'file:///x', rev: 'c'.repeat(40) }
    const changes = diffInputs(
      [NIXPKGS_OLD, git],
      [NIXPKGS_OLD, { ...git, rev: 'd'.repeat(40) }, { name: 'new', type: 'path', url: '/p' }]
    )
    expect(changes.map(c => [c.name, c.kind, c.compareUrl])).toEqual([
      ['pkgsrc', 'updated', undefined],
      ['new', 'added', undefined]
    ])
    expect(diffInputs([git], [])).toEqual([
      {
        name: 'pkgsrc',
        kind: 'removed',
        type: 'git',
        before: { rev: 'c'.repeat(40), url: 'file:///x' }
      }
    ])
  })

  it('the commit range links the two commits on the server the run came from', () => {
    const repo = { repository: 'octo/img', serverUrl: 'https://ghe.example.com/' }
    expect(commitRange({ sha: 'a'.repeat(40), ...repo }, { sha: 'b'.repeat(40), ...repo })).toEqual(
      {
        before: 'a'.repeat(40),
        after: 'b'.repeat(40),
        compareUrl: `https://ghe.example.com/octo/img/compare/${'a'.repeat(40)}...${'b'.repeat(40)}`
      }
    )
    expect(commitRange({ sha: 'a'.repeat(40) }, { sha: 'a'.repeat(40) })).toBeUndefined()
    // Text that is no commit never becomes a link.
    expect(
      commitRange({ sha: 'x y', ...repo }, { sha: 'b'.repeat(40), ...repo })?.compareUrl
    ).toBeUndefined()
  })

  it('packages: version changes first, then added and removed, each sorted by name', () => {
    const changes = diffPackages(
      { systemd: ['256.1'], zlib: ['1.3'], gone: ['1'], same: ['2'] },
      { systemd: ['256.2'], zlib: ['1.3', '1.3.1'], fresh: ['0.1'], same: ['2'] },
      true,
      { systemd: 1000 }
    )
    expect(changes.map(c => [c.name, c.kind, c.before, c.after, c.bytes])).toEqual([
      ['systemd', 'changed', ['256.1'], ['256.2'], 1000],
      ['zlib', 'changed', ['1.3'], ['1.3', '1.3.1'], undefined],
      ['fresh', 'added', [], ['0.1'], undefined],
      ['gone', 'removed', ['1'], [], undefined]
    ])
  })

  it('dates flake.lock times in UTC', () => {
    expect(lockDate(1796521751)).toBe('2026-12-06')
    expect(lockDate(undefined)).toBeUndefined()
  })
})
