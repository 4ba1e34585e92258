import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { localFlakeDir } from '../../../../src/build/image-graph.js'
import { commitOf, compositionFrom } from '../../../../src/report/changes/composition.js'

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'changes')
const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')
const ROOT = '/nix/store/pqf0zq78s0y83r3gpzxxxwn3rhhlh41f-img.iso.drv'
const LIBFOO = '/nix/store/iddavsf966q6z793nawsqfy23mqhiml4-libfoo-1.0.drv'

describe("this run's composition, from what Nix printed", () => {
  it('inputs from flake.lock, packages from the graph, the failed derivation’s closure', () => {
    const composition = compositionFrom(
      {
        graph: read('show-derivation-2.8.json'),
        lock: read('flake-1.0.lock'),
        lockFrom: 'file',
        notes: []
      },
      { drvPath: ROOT, failedDrvs: [LIBFOO], commit: { sha: 'a'.repeat(40) } }
    )
    expect(composition.inputs?.map(i => `${i.name}@${i.rev}`)).toEqual([
      'pkgsrc@a19563f47e8c315d5be40926dd5aa7f5d2c6d8ad'
    ])
    expect(composition.packages).toEqual({ 'img.iso': [''], libfoo: ['1.0'] })
    expect(composition.failingClosures).toEqual({ [LIBFOO]: ['libfoo'] })
    expect(composition.commit?.sha).toBe('a'.repeat(40))
    expect(composition.notes).toBeUndefined()
  })

  it('says what it could not read, and an unreadable graph is a note, not a throw', () => {
    const composition = compositionFrom(
      { graph: '{ not json', notes: ['the runtime closure was not read (nix path-info: boom)'] },
      { drvPath: ROOT, failedDrvs: [] }
    )
    // No lock at all (a flake with no inputs): no inputs, not unknown ones.
    expect(composition.inputs).toEqual([])
    expect(composition.packages).toBeUndefined()
    expect(composition.notes?.[0]).toBe('the runtime closure was not read (nix path-info: boom)')
    expect(composition.notes?.[1]).toMatch(/^the derivation graph was unreadable: /)
  })

  it('the commit only from a GITHUB_SHA that is one', () => {
    expect(commitOf({ GITHUB_SHA: 'b'.repeat(40), GITHUB_REPOSITORY: 'o/r' })).toEqual({
      sha: 'b'.repeat(40),
      repository: 'o/r'
    })
    expect(commitOf({ GITHUB_SHA: '$(reboot)' })).toBeUndefined()
    expect(commitOf({})).toBeUndefined()
  })

  it('reads flake.lock from disk only for a local flake', () => {
    expect(localFlakeDir('/src/img')).toBe('/src/img')
    expect(localFlakeDir('path:/src/img?dir=x')).toBe('/src/img')
    expect(localFlakeDir('git+file:///src/img')).toBe('/src/img')
    expect(localFlakeDir('github:NixOS/nixpkgs')).toBeUndefined()
    expect(localFlakeDir('.')).toBe(process.cwd())
  })
})
