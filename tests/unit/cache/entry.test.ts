import { describe, expect, it } from 'vitest'
import { stubNarinfo, UNTRUSTED } from '../../../src/cache/entry.js'
import { importedOutcome } from '../../../src/cache/image-cache.js'
import type { ReuseAnalysis } from '../../../src/cache/reuse.js'
import { parsePathInfo } from '../../../src/cache/keys.js'
import { parseSubstituterConfig, signedByTrustedKey } from '../../../src/cache/substituters.js'

const cacheKey = 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='

describe('parseSubstituterConfig', () => {
  it('reads substituters and trusted keys from `nix show-config --json` (Nix 2.8, recorded)', () => {
    const json = JSON.stringify({
      substituters: { aliases: ['binary-caches'], defaultValue: [], value: ['file:///tmp/bc'] },
      'trusted-public-keys': { value: [cacheKey, 'h14test-1:7BHL8FFt7CzmOrBY='] }
    })
    expect(parseSubstituterConfig(json)).toEqual({
      substituters: ['file:///tmp/bc'],
      trustedKeys: [cacheKey, 'h14test-1:7BHL8FFt7CzmOrBY=']
    })
  })
  it('takes a space-separated string too, and nothing when the lab empties it', () => {
    const json = JSON.stringify({
      substituters: { value: 'https://a.example https://b.example' },
      'trusted-public-keys': { value: [] }
    })
    expect(parseSubstituterConfig(json).substituters).toEqual([
      'https://a.example',
      'https://b.example'
    ])
    expect(parseSubstituterConfig('{"substituters":{"value":[]}}')).toEqual({
      substituters: [],
      trustedKeys: []
    })
  })
})

describe('signedByTrustedKey', () => {
  it('matches a signature by its key name, in every JSON format of `nix path-info`', () => {
    const v3 = JSON.stringify({
      '/nix/store/a-x': {
        narSize: 1,
        references: [],
        signatures: [{ keyName: 'cache.nixos.org-1', sig: 'AAAA' }],
        version: 3
      }
    })
    const [info] = parsePathInfo(v3)
    expect(info.signatures).toEqual(['cache.nixos.org-1:AAAA'])
    expect(signedByTrustedKey(info, [cacheKey])).toBe(true)
    expect(signedByTrustedKey({ ...info, signatures: ['mine-1:AAAA'] }, [cacheKey])).toBe(false)
    expect(signedByTrustedKey({ ...info, signatures: undefined }, [cacheKey])).toBe(false)
  })
})

describe('stubNarinfo', () => {
  it('describes a path with no NAR: enough for `nix copy --to` to take it as present', () => {
    expect(
      stubNarinfo({
        path: '/nix/store/fqby8v6wvc49w0qidcvw5cwp4g8i3k2q-sub',
        narHash: 'sha256-93pozFlcxatMjIwm0HN+1b+hvSthRvulWB0702s2J2g=',
        narSize: 120,
        references: ['/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-dep']
      })
    ).toBe(
      [
        'StorePath: /nix/store/fqby8v6wvc49w0qidcvw5cwp4g8i3k2q-sub',
        'URL: nar/served-by-a-substituter.nar',
        'Compression: none',
        'NarHash: sha256-93pozFlcxatMjIwm0HN+1b+hvSthRvulWB0702s2J2g=',
        'NarSize: 120',
        'References: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-dep',
        ''
      ].join('\n')
    )
  })
})

describe('UNTRUSTED', () => {
  it("recognises the daemon's refusal of an untrusted user's unsigned paths", () => {
    // Nix's words when a daemon refuses an untrusted user's unsigned path.
    expect(
      UNTRUSTED.test(
        "error: cannot add path '/nix/store/abc-x' because it lacks a signature by a trusted key"
      )
    ).toBe(true)
    expect(UNTRUSTED.test("error: path '/nix/store/abc-x' is not valid")).toBe(false)
  })
})

describe('importedOutcome', () => {
  const expensive = '/nix/store/1yblsjwvipznw5bpjadbzcs4hfz30hjv-boot-image-vm-expensive'
  const old = '/nix/store/2yblsjwvipznw5bpjadbzcs4hfz30hjv-boot-image-vm-expensive'
  const sizes = new Map([
    [expensive, 4 * 1024 * 1024],
    [old, 4 * 1024 * 1024]
  ])
  const deps: ReuseAnalysis = {
    basis: { kind: 'deps', drvPaths: [`${expensive}.drv`] },
    otherDrvPath: '/nix/store/bi63acr91qp5br1h34k4qhi1f5m28zfb-boot-image-vm-baked.iso.drv',
    keyDependent: ['/nix/store/z981j4cnirk1gplqafg3620yhk82r901-boot-image-vm-baked.iso.drv'],
    wanted: [expensive]
  }

  it('says what was restored, what is still built and why, and what was not imported', () => {
    const outcome = importedOutcome(
      { imported: [expensive], unused: [old] },
      sizes,
      deps,
      false,
      'k1'
    )
    expect(outcome.status).toBe('partial')
    expect(outcome.detail).toBe(
      "restored from the closest entry (k1) 1 store paths (4.0 MiB) that do not depend on the run's key; " +
        "still built: the 1 derivation(s) that depend on the run's key (boot-image-vm-baked.iso); " +
        '1 restored paths (4.0 MiB) this build does not use were not imported'
    )
  })

  it('calls a restore that brings nothing this build uses a miss, in vain', () => {
    const outcome = importedOutcome(
      { imported: [], unused: [old] },
      new Map([[old, 4 * 1024 * 1024]]),
      deps,
      false,
      'k1'
    )
    expect(outcome).toEqual({
      status: 'miss',
      detail:
        'restored in vain: the closest entry (k1) holds nothing this build uses (1 paths, 4.0 MiB); not imported'
    })
  })

  it('is a hit only for the exact entry of an image that takes its key at boot', () => {
    const image: ReuseAnalysis = {
      ...deps,
      basis: { kind: 'image', drvPath: `${expensive}.drv` },
      keyDependent: []
    }
    expect(
      importedOutcome({ imported: [expensive], unused: [] }, sizes, image, true, 'k').status
    ).toBe('hit')
    expect(
      importedOutcome({ imported: [expensive], unused: [] }, sizes, deps, true, 'k').status
    ).toBe('partial')
  })
})
