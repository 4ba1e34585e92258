// buildPlaces on event streams recorded from real Nix 2.8 (tests/fixtures/build-places/), read
// through BuildEvents as buildImage reads them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildPlaces, failedOn } from '../../../src/build/build-places.js'
import { BuildEvents } from '../../../src/build/events.js'
import { findRootFailures } from '../../../src/build/failures.js'
import { unreachableBuilder } from '../../../src/build/machine-failures.js'
import { buildPlacesBlock } from '../../../src/report/build-places-section.js'
import { derivationBlock } from '../../../src/report/summary-sections.js'
import { build } from '../report/fixtures.js'

const dir = join(import.meta.dirname, '../../fixtures/build-places')
const replay = (name: string): BuildEvents =>
  new BuildEvents().pushAll(readFileSync(join(dir, name), 'utf8').split('\n'))
const places = (name: string) => buildPlaces(replay(name).activities.values())

describe('buildPlaces on recorded Nix 2.8 events', () => {
  it('a build on an ssh-ng builder names the builder, not the relayed local activity', () => {
    const events = replay('nix-2.8-ssh-ng-builder.internal-json.txt')
    // Two build activities for the one derivation: ours naming the machine, the builder's own
    // relayed back with machine "" (and the log lines under it).
    const starts = [...events.activities.values()].filter(a => a.type === 105)
    expect(starts.map(a => a.fields[1])).toEqual(['ssh-ng://root@127.0.207.183', ''])
    expect(events.logOf(String(starts[0].fields[0]))).toEqual([
      'built by nixbld uid 30001 on store /nix/store nonce 31217',
      'uid=30001(nixbld) gid=30000 groups=30000'
    ])
    expect(places('nix-2.8-ssh-ng-builder.internal-json.txt')).toEqual({
      built: [
        {
          drv: '/nix/store/z35gf66zggyp3yfsk00rg9asxlawxmcs-remote-probe.drv',
          machine: 'ssh-ng://root@127.0.207.183'
        }
      ],
      substituted: []
    })
  })

  it('max-jobs = 0: a dependency and its parent both go to the builder, each named once', () => {
    const builder = 'ssh-ng://root@127.0.35.189'
    expect(places('nix-2.8-max-jobs-0-chain.internal-json.txt').built).toEqual([
      { drv: '/nix/store/9yf23zmb335y5kcilyriiff9sa486ia8-mj-dep.drv', machine: builder },
      { drv: '/nix/store/n9amfmr4x7rymrf0pvg1pllmpk0lw1qx-mj-top.drv', machine: builder }
    ])
  })

  it('a path from a signed binary cache is substituted, not built, and names the cache', () => {
    expect(places('nix-2.8-substituted.internal-json.txt')).toEqual({
      built: [],
      substituted: [
        {
          path: '/nix/store/n6dwx1h8qmwj4hfw9c2pmhh7ijqra9zw-subst-probe',
          from: 'file:///tmp/biv-scratch/cache.22915'
        }
      ]
    })
  })

  it('with a key that did not sign it, the same path is built here', () => {
    expect(places('nix-2.8-untrusted-key.internal-json.txt')).toEqual({
      built: [
        { drv: '/nix/store/j30y2h0xhkk3yiakvg8vpwp7p717ksi4-subst-probe.drv', machine: 'local' }
      ],
      substituted: []
    })
  })

  it('keeps the order builds started, one entry per derivation, and skips malformed fields', () => {
    const activities = [
      { type: 105, fields: ['/nix/store/a-one.drv', ''] },
      { type: 105, fields: ['/nix/store/b-two.drv', 'ssh://builder'] },
      { type: 105, fields: ['/nix/store/a-one.drv', ''] },
      { type: 105, fields: [42] },
      { type: 108, fields: ['/nix/store/c-three', 'https://cache.example'] },
      { type: 100, fields: ['/nix/store/d-copied', 'ssh://builder', 'local'] }
    ]
    expect(buildPlaces(activities)).toEqual({
      built: [
        { drv: '/nix/store/a-one.drv', machine: 'local' },
        { drv: '/nix/store/b-two.drv', machine: 'ssh://builder' }
      ],
      substituted: [{ path: '/nix/store/c-three', from: 'https://cache.example' }]
    })
  })
})

// Recorded by hand (tests/fixtures/README.md): the same one-line derivation, requiring the
// builder's feature, whose builder prints two lines and exits 3 on the SSH builder.
describe('a derivation that failed on the ssh-ng builder (recorded Nix 2.8)', () => {
  const broken = '/nix/store/1g6g3gdyx8rkws260fy3lkkhslvrb6bx-remote-broken.drv'
  const builder = 'ssh-ng://root@biv-builder-24956'
  const errorText = (events: BuildEvents): string =>
    [events.errorText(), ...events.plainLines].join('\n')

  it('is named with the builder, with its own exit code, not Nix’s 1 for it', () => {
    const events = replay('nix-2.8-ssh-ng-builder-failing.internal-json.txt')
    const roots = findRootFailures(errorText(events))
    expect(roots).toEqual([expect.objectContaining({ drv: broken, exitCode: 3, machine: builder })])
    expect(roots[0].reason).toBe('builder failed with exit code 3')
    // The log lines came back over SSH in the builder's relayed activity.
    expect(events.logOf(broken)).toEqual([
      'remote-broken: line one',
      'remote-broken: deliberate failure'
    ])
    // Where builds ran is kept for a failed build too: the failed one on the builder.
    const places = buildPlaces(events.activities.values())
    expect(places.built).toEqual([{ drv: broken, machine: builder }])
    expect(failedOn({ drv: broken }, places.built)).toBe(builder)
    // A real builder failure is the derivation's, not an unreachable builder.
    expect(unreachableBuilder(errorText(events), [roots[0].reason])).toBeUndefined()
  })

  it('the plain error names the builder too, and keeps the quoted tail', () => {
    const text = readFileSync(join(dir, 'nix-2.8-ssh-ng-builder-failing.txt'), 'utf8')
    expect(findRootFailures(text)).toEqual([
      {
        drv: broken,
        name: 'remote-broken',
        reason: 'builder failed with exit code 3',
        exitCode: 3,
        tail: ['remote-broken: line one', 'remote-broken: deliberate failure'],
        machine: builder
      }
    ])
  })

  it('failedOn: Nix’s error first, else where the build ran, else nowhere', () => {
    const built = [{ drv: '/nix/store/a-one.drv', machine: 'local' }]
    expect(failedOn({ drv: '/nix/store/a-one.drv', machine: 'ssh://b' }, built)).toBe('ssh://b')
    expect(failedOn({ drv: '/nix/store/a-one.drv' }, built)).toBe('local')
    // Never started (no machine had its features): no machine to name.
    expect(failedOn({ drv: '/nix/store/b-two.drv' }, built)).toBeUndefined()
  })

  it('the summary says the derivation failed on the builder, and marks it in the table', () => {
    const failure = {
      drv: broken,
      name: 'remote-broken',
      reason: 'builder failed with exit code 3',
      exitCode: 3,
      log: 'build/failed/remote-broken.log',
      tail: ['remote-broken: deliberate failure'],
      machine: builder
    }
    const block = derivationBlock(failure, true)
    expect(block).toContain(
      `<summary>❌ remote-broken: builder failed with exit code 3 (failed on ${builder})</summary>`
    )
    expect(block).toContain(`Failed on \`${builder}\`.`)
    const local = derivationBlock({ ...failure, machine: 'local' }, true)
    expect(local).not.toContain('failed on')
    expect(local).not.toContain('Failed on')
    const where = buildPlacesBlock(
      build({
        status: 'build-failed',
        failures: [failure],
        builtOn: [{ drv: broken, machine: builder }]
      })
    )
    expect(where).toContain(`| remote-broken | \`${builder}\` (failed) |`)
    // Failed here, all of it: no "Built here" line beside the failure section.
    const here = build({
      status: 'build-failed',
      failures: [{ ...failure, machine: 'local' }],
      builtOn: [{ drv: broken, machine: 'local' }]
    })
    expect(buildPlacesBlock(here)).toBe('')
  })
})

describe('buildPlacesBlock', () => {
  const hash = 'z35gf66zggyp3yfsk00rg9asxlawxmcs'
  it('says nothing when the build said nothing about where', () => {
    expect(buildPlacesBlock(build())).toBe('')
  })

  it('one line when everything was built here', () => {
    const block = buildPlacesBlock(
      build({ builtOn: [{ drv: `/nix/store/${hash}-a.drv`, machine: 'local' }] })
    )
    expect(block).toBe('Built here (local): 1 derivation.')
  })

  it('a table naming the remote builder per derivation, and the substituters', () => {
    const block = buildPlacesBlock(
      build({
        builtOn: [
          { drv: `/nix/store/${hash}-remote-part.drv`, machine: 'ssh-ng://root@127.0.0.2' },
          { drv: `/nix/store/${hash}-image.iso.drv`, machine: 'local' }
        ],
        substituted: [
          { path: '/nix/store/x-a', from: 'file:///cache' },
          { path: '/nix/store/x-b', from: 'file:///cache' }
        ]
      })
    )
    expect(block).toContain('Built on remote builders: 1 of 2 derivations.')
    expect(block).toContain('| remote-part | `ssh-ng://root@127.0.0.2` |')
    expect(block).toContain('| image.iso | `local` |')
    expect(block).toContain('Substituted (not built): 2 from `file:///cache`.')
  })
})
