import { describe, expect, it } from 'vitest'
import {
  cacheKeys,
  narinfoStorePath,
  nixGeneration,
  parsePathInfo,
  planSave,
  storeHash,
  type PathInfo
} from '../../src/cache/keys.js'

const drv = '/nix/store/0jg9y4y59avx3wxxr4iv6hvds2kl463h-boot-image-vm-fixture.iso.drv'
const parts = {
  system: 'x86_64-linux',
  drvPath: drv,
  nixVersion: '2.8.0',
  flakeLockHash: 'ab'.repeat(32)
}

describe('cacheKeys', () => {
  it('keys on the system, the lock file, the Nix minor and the .drv hash', () => {
    const { key, restoreKeys } = cacheKeys(parts)
    expect(key).toBe(
      'boot-image-vm-v1-x86_64_linux-abababababababab-nix2.8-0jg9y4y59avx3wxxr4iv6hvds2kl463h'
    )
    expect(restoreKeys).toEqual([
      'boot-image-vm-v1-x86_64_linux-abababababababab-nix2.8-',
      'boot-image-vm-v1-x86_64_linux-abababababababab-',
      'boot-image-vm-v1-x86_64_linux-'
    ])
    // Every restore key is a prefix of the key: the closest earlier entry is found by prefix.
    for (const prefix of restoreKeys) expect(key.startsWith(prefix)).toBe(true)
  })

  it('changes with the .drv, keeps the restore keys; a patch release of Nix keeps the key', () => {
    const other = cacheKeys({ ...parts, drvPath: drv.replace('0jg9', '1jg9') })
    expect(other.key).not.toBe(cacheKeys(parts).key)
    expect(other.restoreKeys).toEqual(cacheKeys(parts).restoreKeys)
    expect(cacheKeys({ ...parts, nixVersion: '2.8.1' }).key).toBe(cacheKeys(parts).key)
    expect(cacheKeys({ ...parts, nixVersion: '2.26.3' }).key).toContain('-nix2.26-')
  })

  it('says when there is no lock file, and keeps keys free of commas and long values', () => {
    const { key } = cacheKeys({ ...parts, flakeLockHash: '', system: 'weird,sys tem' })
    expect(key).toContain('-nolock-')
    expect(key).not.toMatch(/[, ]/)
    expect(key.length).toBeLessThan(512)
  })

  it('refuses what is not a store path', () => {
    expect(() => storeHash('/tmp/foo.drv')).toThrow(/not a store path/)
    expect(storeHash(drv)).toBe('0jg9y4y59avx3wxxr4iv6hvds2kl463h')
    expect(nixGeneration('2.26.3pre')).toBe('2.26')
    expect(nixGeneration('')).toBe('unknown')
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
