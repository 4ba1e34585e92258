import { describe, expect, it } from 'vitest'
import type { CacheResult } from '../../../src/model/index.js'
import { cacheSaveLine, cacheSection } from '../../../src/report/summary-sections.js'

const partial: CacheResult = {
  status: 'partial',
  key: 'boot-image-vm-v1-x86_64_linux-nolock-nix2.8-bbbb',
  matchedKey: 'boot-image-vm-v1-x86_64_linux-nolock-nix2.8-aaaa',
  bytesRestored: 15_708_211,
  restoreMs: 306,
  detail: 'restored the closest entry: 3 store paths, 15.0 MiB in 0.3 s'
}

describe('cacheSection', () => {
  it('says partial, both keys, the size, the restore time, and what was then built', () => {
    const text = cacheSection(partial, [
      {
        context: 'host',
        status: 'passed',
        failures: [],
        dependents: [],
        durationMs: 1,
        built: ['/nix/store/x-a.drv']
      }
    ])
    expect(text).toMatch(/^### Cache/)
    expect(text).toContain('partial')
    expect(text).toContain(partial.key)
    expect(text).toContain(partial.matchedKey)
    expect(text).toContain('15.0 MiB')
    expect(text).toContain('Then built: 1 derivation')
    expect(text).toContain('Saved by the post step')
  })

  it('adds the save when post recorded it, with what was left out', () => {
    const text = cacheSection({
      ...partial,
      save: {
        status: 'saved',
        key: partial.key as string,
        bytes: 2 * 1024 * 1024,
        paths: 4,
        saveMs: 850,
        leftOut: [{ root: '/nix/store/x-shell-env', bytes: 3 * 1024 * 1024 }],
        detail: 'saved'
      }
    })
    expect(text).toContain('**Save: saved**')
    expect(text).toContain('2.0 MiB in 4 store paths')
    expect(text).toContain('/nix/store/x-shell-env')
    expect(text).not.toContain('Saved by the post step')
  })

  it('is empty without a cache result, and short when disabled', () => {
    expect(cacheSection(undefined)).toBe('')
    const text = cacheSection({ status: 'disabled', detail: "input 'cache' is false" })
    expect(text).toContain('disabled')
    expect(text).not.toContain('Key')
    expect(cacheSaveLine({ status: 'skipped', key: 'k', leftOut: [], detail: 'exact hit' })).toBe(
      '**Save: skipped**: exact hit'
    )
  })
})
