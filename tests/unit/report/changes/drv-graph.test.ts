import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  closureOf,
  failingClosures,
  packagesOf,
  parseDerivationGraph,
  parseRuntimeClosure
} from '../../../../src/report/changes/drv-graph.js'
import { isBuildNoise, parseDrvName, storeName } from '../../../../src/report/changes/drv-name.js'

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'changes')
const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')
const ROOT = '/nix/store/pqf0zq78s0y83r3gpzxxxwn3rhhlh41f-img.iso.drv'

describe('parseDrvName (as nix-env does)', () => {
  it.each([
    ['systemd-256.2', 'systemd', '256.2'],
    ['util-linux-minimal-2.39-bin', 'util-linux-minimal', '2.39-bin'],
    ['perl5.38.2-XML-Parser-2.46', 'perl5.38.2-XML-Parser', '2.46'],
    ['nixos-system-nixos-24.11pre-git', 'nixos-system-nixos', '24.11pre-git'],
    ['hello', 'hello', ''],
    ['linux-6.6.30-modules', 'linux', '6.6.30-modules'],
    ['foo-', 'foo-', ''],
    ['python3.12-requests-2.31.0', 'python3.12-requests', '2.31.0'],
    ['x-_y', 'x', '_y']
  ])('%s → %s, %s', (full, name, version) => {
    expect(parseDrvName(full)).toEqual({ name, version })
  })

  it('keeps sources, patches, bootstrap tools and hooks apart as build noise', () => {
    for (const name of [
      'source',
      'systemd-source',
      'bash-5.2.tar.gz',
      'fix-build.patch',
      'stdenv-linux',
      'bootstrap-tools',
      'make-shell-wrapper-hook',
      'patch-shebangs.sh'
    ])
      expect(isBuildNoise(name), name).toBe(true)
    for (const name of ['systemd-256.2', 'linux-6.6.30', 'openssh-9.8p1'])
      expect(isBuildNoise(name), name).toBe(false)
  })
})

describe('the derivation graph (nix show-derivation -r, Nix 2.8)', () => {
  const graph = parseDerivationGraph(read('show-derivation-2.8.json'))

  it('walks the closure from the image', () => {
    expect(closureOf(graph, ROOT).map(storeName)).toEqual([
      'img.iso.drv',
      'libfoo-1.0.drv',
      'libfoo-1.0.tar.gz.drv'
    ])
  })

  it('names the packages with their versions, the source archive apart', () => {
    const { packages, buildPackages } = packagesOf(graph, ROOT)
    expect(packages).toEqual({ 'img.iso': [''], libfoo: ['1.0'] })
    expect(buildPackages).toEqual({ libfoo: ['1.0.tar.gz'] })
  })

  it('takes what the image holds from its runtime closure, with sizes, when it says more than the root', () => {
    const runtime = parseRuntimeClosure(read('path-info-2.8.json'))
    const { packages, packageBytes } = packagesOf(graph, ROOT, runtime)
    // The builder wrote the archive's path into libfoo: it is a runtime reference here.
    expect(Object.keys(packages!).sort()).toEqual(['img.iso', 'libfoo'])
    expect(packages!.libfoo).toEqual(['1.0', '1.0.tar.gz'])
    expect(packageBytes).toEqual({ 'img.iso': 336, libfoo: 344 + 120 })
  })

  it("gives each failed derivation's own closure as package names", () => {
    const libfoo = '/nix/store/iddavsf966q6z793nawsqfy23mqhiml4-libfoo-1.0.drv'
    expect(failingClosures(graph, [libfoo, '/nix/store/missing.drv'])).toEqual({
      [libfoo]: ['libfoo']
    })
  })

  it('reads the newer shapes: a `derivations` wrapper, base-name keys, inputDrvs with outputs', () => {
    const newer = JSON.stringify({
      version: 4,
      derivations: {
        'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-img.drv': {
          name: 'img',
          outputs: { out: { path: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-img' } },
          inputDrvs: {
            'cccccccccccccccccccccccccccccccc-systemd-256.2.drv': {
              outputs: ['out'],
              dynamicOutputs: {}
            }
          },
          env: {}
        },
        'cccccccccccccccccccccccccccccccc-systemd-256.2.drv': {
          name: 'systemd-256.2',
          outputs: { out: { path: 'dddddddddddddddddddddddddddddddd-systemd-256.2' } },
          inputDrvs: {},
          env: {}
        },
        'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-src.drv': {
          name: 'src',
          outputs: { out: { path: 'x', hash: 'abc', hashAlgo: 'sha256' } },
          inputDrvs: {},
          env: {}
        }
      }
    })
    const g = parseDerivationGraph(newer)
    const root = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-img.drv'
    expect(packagesOf(g, root).packages).toEqual({ img: [''], systemd: ['256.2'] })
    expect(g.get('eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-src.drv')?.fixedOutput).toBe(true)
  })

  it('reads path-info in its object form (newer Nix) too', () => {
    const closure = parseRuntimeClosure(
      JSON.stringify({ '/nix/store/aaaa-x': { narSize: 10 }, '/nix/store/bbbb-y': null })
    )
    expect([...closure.entries()]).toEqual([
      ['aaaa-x', 10],
      ['bbbb-y', 0]
    ])
  })
})
