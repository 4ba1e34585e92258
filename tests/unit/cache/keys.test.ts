import { describe, expect, it } from 'vitest'
import {
  basisHash,
  cacheKeys,
  dependenciesFirst,
  imageId,
  narinfoStorePath,
  nixGeneration,
  parsePathInfo,
  planSave,
  splitByKey,
  storeHash,
  storeName,
  type PathInfo
} from '../../../src/cache/keys.js'
import { cacheSaveState } from '../../../src/cache/image-cache.js'
import { incompleteKey } from '../../../src/cache/save.js'
import type { NixInstallation } from '../../../src/model/index.js'

const drv = '/nix/store/0jg9y4y59avx3wxxr4iv6hvds2kl463h-boot-image-vm-fixture.iso.drv'
const parts = {
  system: 'x86_64-linux',
  installable: '.#bootImage',
  basis: { kind: 'image' as const, drvPath: drv },
  nixVersion: '2.8.0',
  flakeLockHash: 'ab'.repeat(32)
}
const id = imageId('.#bootImage')

describe('cacheKeys', () => {
  it('keys an image that takes its key at boot on the system, lock, Nix minor, image and .drv', () => {
    const { key, restoreKeys } = cacheKeys(parts)
    expect(id).toMatch(/^bootImage\.[0-9a-f]{8}$/)
    expect(key).toBe(
      `boot-image-vm-v2-x86_64_linux-abababababababab-nix2.8-${id}-i-0jg9y4y59avx3wxxr4iv6hvds2kl463h`
    )
    // One restore key: the same image, lock file, Nix and kind. Never another image's entry or
    // another lock file's (their paths are not this build's: a download for nothing).
    expect(restoreKeys).toEqual([`boot-image-vm-v2-x86_64_linux-abababababababab-nix2.8-${id}-i-`])
    expect(key.startsWith(restoreKeys[0])).toBe(true)
  })

  it('keys an image that bakes the key on the set of derivations that do not depend on it', () => {
    const drvs = ['/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b.drv', drv]
    const deps = cacheKeys({ ...parts, basis: { kind: 'deps', drvPaths: drvs } })
    expect(deps.key).toMatch(new RegExp(`-${id.replace('.', '\\.')}-d-[0-9a-f]{32}$`))
    expect(deps.restoreKeys).toEqual([deps.key.slice(0, -32)])
    // The set, not its order or repetitions.
    const same = cacheKeys({ ...parts, basis: { kind: 'deps', drvPaths: [drv, ...drvs] } })
    expect(same.key).toBe(deps.key)
    expect(basisHash({ kind: 'deps', drvPaths: [drv] })).not.toBe(
      basisHash({ kind: 'deps', drvPaths: drvs })
    )
  })

  it('changes with the .drv and the image, keeps the restore key; a Nix patch release keeps the key', () => {
    const other = cacheKeys({
      ...parts,
      basis: { kind: 'image', drvPath: drv.replace('0jg9', '1jg9') }
    })
    expect(other.key).not.toBe(cacheKeys(parts).key)
    expect(other.restoreKeys).toEqual(cacheKeys(parts).restoreKeys)
    const otherImage = cacheKeys({ ...parts, installable: '.#otherImage' })
    expect(otherImage.restoreKeys[0]).not.toBe(cacheKeys(parts).restoreKeys[0])
    expect(imageId('/a/flake#bootImage')).not.toBe(imageId('/b/flake#bootImage'))
    expect(cacheKeys({ ...parts, nixVersion: '2.8.1' }).key).toBe(cacheKeys(parts).key)
    expect(cacheKeys({ ...parts, nixVersion: '2.26.3' }).key).toContain('-nix2.26-')
  })

  it('says when there is no lock file, and keeps keys free of commas and long values', () => {
    const long = `.#${'x,'.repeat(300)}`
    const { key } = cacheKeys({
      ...parts,
      flakeLockHash: '',
      system: 'weird,sys tem',
      installable: long
    })
    expect(key).toContain('-nolock-')
    expect(key).not.toMatch(/[, ]/)
    expect(key.length).toBeLessThan(512)
  })

  it('refuses what is not a store path', () => {
    expect(() => storeHash('/tmp/foo.drv')).toThrow(/not a store path/)
    expect(storeHash(drv)).toBe('0jg9y4y59avx3wxxr4iv6hvds2kl463h')
    expect(storeName(drv)).toBe('boot-image-vm-fixture.iso')
    expect(nixGeneration('2.26.3pre')).toBe('2.26')
    expect(nixGeneration('')).toBe('unknown')
  })
})

describe('splitByKey', () => {
  // Recorded from the fixture's bakedKeyImage (nix-store -qR of its .drv with two keys).
  const withRunKey = [
    '/nix/store/r2q22arxfn4rd7mrcwxn1kxfb8mdwg37-expensive.sh',
    '/nix/store/1yblsjwvipznw5bpjadbzcs4hfz30hjv-boot-image-vm-expensive.drv',
    '/nix/store/374pvw5sjhvlg1ssagh06s2fl3xn178j-boot-image-vm-served.drv',
    '/nix/store/czcim2amy1wgri1gvrcn6dzakyschhdx-init.sh',
    '/nix/store/z981j4cnirk1gplqafg3620yhk82r901-boot-image-vm-baked.iso.drv'
  ]
  const withOtherKey = [
    ...withRunKey.slice(0, 4),
    '/nix/store/bi63acr91qp5br1h34k4qhi1f5m28zfb-boot-image-vm-baked.iso.drv'
  ]

  it('keeps the derivations in both closures, names the ones only the run key has', () => {
    expect(splitByKey(withRunKey, withOtherKey)).toEqual({
      reusable: [withRunKey[1], withRunKey[2]],
      keyDependent: [withRunKey[4]]
    })
  })

  it('finds nothing reusable when only the image is a derivation (bootImage)', () => {
    expect(splitByKey([withRunKey[3], withRunKey[4]], [withRunKey[3], withOtherKey[4]])).toEqual({
      reusable: [],
      keyDependent: [withRunKey[4]]
    })
  })
})

describe('dependenciesFirst', () => {
  it('puts each path after what it refers to, ignoring references outside the set', () => {
    const infos: PathInfo[] = [
      { path: '/s/a', narSize: 1, references: ['/s/b', '/s/c', '/s/a', '/s/out'] },
      { path: '/s/b', narSize: 1, references: ['/s/c'] },
      { path: '/s/c', narSize: 1, references: [] }
    ]
    expect(dependenciesFirst(['/s/a', '/s/b', '/s/c'], infos)).toEqual(['/s/c', '/s/b', '/s/a'])
  })
})

describe('narinfoStorePath', () => {
  it('reads StorePath', () => {
    const text =
      'StorePath: /nix/store/s2c2ln3gdyrnsy3sg9789gbl9gzbmlvj-x.iso\nURL: nar/a.nar.zst\n'
    expect(narinfoStorePath(text)).toBe('/nix/store/s2c2ln3gdyrnsy3sg9789gbl9gzbmlvj-x.iso')
    expect(narinfoStorePath('URL: x')).toBeUndefined()
  })
})

describe('parsePathInfo', () => {
  it('reads the array of Nix < 2.19', () => {
    const json = JSON.stringify([
      { path: '/nix/store/a-x', narSize: 10, references: ['/nix/store/b-y'] }
    ])
    expect(parsePathInfo(json)).toEqual([
      { path: '/nix/store/a-x', narSize: 10, references: ['/nix/store/b-y'] }
    ])
  })
  it('keeps the hash, the signatures and whether it was built here; drops invalid paths', () => {
    const json = JSON.stringify([
      { path: '/nix/store/a-x', valid: false },
      {
        path: '/nix/store/b-y',
        narHash: 'sha256-93pozFlcxatMjIwm0HN+1b+hvSthRvulWB0702s2J2g=',
        narSize: 120,
        references: [],
        signatures: ['h14test-1:pqDH'],
        ultimate: true
      }
    ])
    expect(parsePathInfo(json)).toEqual([
      {
        path: '/nix/store/b-y',
        narHash: 'sha256-93pozFlcxatMjIwm0HN+1b+hvSthRvulWB0702s2J2g=',
        narSize: 120,
        references: [],
        signatures: ['h14test-1:pqDH'],
        ultimate: true
      }
    ])
  })
  it('reads the object of Nix >= 2.19 (references by base name, null for invalid paths)', () => {
    const json = JSON.stringify({
      '/nix/store/a-x': { narSize: 10, references: ['b-y'] },
      '/nix/store/c-z': null
    })
    expect(parsePathInfo(json)).toEqual([
      { path: '/nix/store/a-x', narSize: 10, references: ['/nix/store/b-y'] }
    ])
  })
})

describe('planSave', () => {
  const infos: PathInfo[] = [
    { path: '/s/iso', narSize: 30, references: ['/s/lib'] },
    { path: '/s/lib', narSize: 10, references: ['/s/lib'] },
    { path: '/s/shell', narSize: 50, references: ['/s/lib', '/s/gcc'] },
    { path: '/s/gcc', narSize: 40, references: [] },
    { path: '/s/tool', narSize: 5, references: [] }
  ]

  it('takes whole closures in order while they fit, and names the roots left out', () => {
    const plan = planSave(['/s/iso', '/s/shell', '/s/tool'], infos, 50)
    expect(plan.paths).toEqual(['/s/iso', '/s/lib', '/s/tool'])
    expect(plan.bytes).toBe(45)
    expect(plan.leftOut).toEqual([{ root: '/s/shell', bytes: 90 }])
  })

  it('counts shared paths once and skips roots that are not in the store', () => {
    const plan = planSave(['/s/iso', '/s/shell', '/s/missing'], infos, 1000)
    expect(plan.bytes).toBe(130)
    expect(plan.leftOut).toEqual([])
  })

  it('saves nothing when the image alone exceeds the cap', () => {
    expect(planSave(['/s/iso'], infos, 39)).toEqual({
      paths: [],
      bytes: 0,
      leftOut: [{ root: '/s/iso', bytes: 40 }]
    })
  })
})

describe('incompleteKey', () => {
  it("keeps a failed build's entry off the exact key, where the restore keys still find it", () => {
    const { key, restoreKeys } = cacheKeys(parts)
    const incomplete = incompleteKey(key)
    expect(incomplete).not.toBe(key)
    expect(incomplete.startsWith(restoreKeys[0])).toBe(true)
  })

  it('is what the save state carries when a build failed, and only then', () => {
    const restore = {
      status: 'miss' as const,
      detail: '',
      hit: false,
      key: cacheKeys(parts).key,
      dir: '/w/.boot-image-vm-nix-cache',
      drvPath: drv,
      reuse: { basis: parts.basis, otherDrvPath: drv }
    }
    const nix = {
      nixPath: '/usr/bin/nix',
      version: '2.8.0',
      env: {},
      storeMode: 'daemon' as const
    } as unknown as NixInstallation
    const state = (incomplete?: boolean) =>
      cacheSaveState(restore, nix, {
        roots: [],
        drvPaths: [drv],
        incomplete,
        maxSizeMiB: 10,
        timeoutSeconds: 10
      })
    expect(state(true)?.incomplete).toBe(true)
    expect(state(false)?.incomplete).toBeUndefined()
    expect(state()?.incomplete).toBeUndefined()
  })
})
