// The disk check before the cache restore and save and before the build: the pure decision from
// free figures, and the thin statfs (real, on this machine's temp directory).
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  buildNeeds,
  cacheSaveNeeds,
  checkDisk,
  diskShortage,
  nearestExisting,
  type DiskFree
} from '../../../src/shared/disk.js'

const GiB = 2 ** 30
const free = (over: Partial<DiskFree>): DiskFree => ({
  label: '/nix',
  path: '/nix/store',
  checked: '/nix',
  neededBytes: 4 * GiB,
  freeBytes: 10 * GiB,
  device: 1,
  ...over
})

describe('diskShortage', () => {
  it('is quiet when every filesystem has room', () => {
    expect(diskShortage([free({}), free({ label: 'TMPDIR', device: 2 })], 'building x')).toBe(
      undefined
    )
  })

  it('names the place, the path checked, the free and the needed figures', () => {
    const warning = diskShortage([free({ freeBytes: 1.5 * GiB })], 'building bootImage')
    expect(warning).toBe(
      'Low disk space before building bootImage: /nix (/nix): 1.5 GiB free, 4.0 GiB needed. ' +
        'It may fail with "No space left on device": free space (on GitHub runners, remove ' +
        'preinstalled toolchains you do not use) or use a runner with a larger disk.'
    )
  })

  it('adds up the needs of one filesystem (a runner has /nix and RUNNER_TEMP both on /)', () => {
    const both = [
      free({ freeBytes: 4.5 * GiB }),
      free({ label: 'TMPDIR', path: '/tmp', checked: '/tmp', neededBytes: 1 * GiB })
    ]
    expect(diskShortage(both, 'building x')).toMatch(
      /\/nix \(\/nix\) and TMPDIR \(\/tmp\): 4\.5 GiB free, 5\.0 GiB needed/
    )
    // On two filesystems each has room.
    expect(diskShortage([both[0], { ...both[1], device: 2 }], 'building x')).toBeUndefined()
  })

  it('does not judge a filesystem it could not read', () => {
    expect(diskShortage([free({ freeBytes: undefined, error: 'EACCES' })], 'x')).toBeUndefined()
  })
})

describe('nearestExisting', () => {
  it('walks up to the first path that exists (/nix before Nix is installed: /)', () => {
    const exists = (path: string) => ['/', '/home/runner'].includes(path)
    expect(nearestExisting('/nix/store', exists)).toBe('/')
    expect(nearestExisting('/home/runner/work/_temp/x', exists)).toBe('/home/runner')
  })
})

describe('checkDisk (real statfs)', () => {
  it('checks the nearest existing parent and warns when the need cannot fit', async () => {
    const path = join(tmpdir(), 'boot-image-vm-does-not-exist', 'cache')
    const warning = await checkDisk(
      [{ label: 'the cache directory', path, neededBytes: 2 ** 60 }],
      'saving the image cache'
    )
    expect(warning).toContain(`the cache directory (${tmpdir()}):`)
    expect(warning).toMatch(/GiB free, 1073741824\.0 GiB needed/)
    expect(await checkDisk([{ label: 'x', path: tmpdir(), neededBytes: 1 }], 'x')).toBeUndefined()
  })

  it('what each step asks for', () => {
    const env = { TMPDIR: '/build-tmp', RUNNER_TEMP: '/runner/_temp' }
    expect(buildNeeds(env).map(n => [n.label, n.path, n.neededBytes / GiB])).toEqual([
      ['/nix', '/nix/store', 4],
      ['TMPDIR', '/build-tmp', 1]
    ])
    expect(cacheSaveNeeds('/w/.cache', 3 * GiB, env).map(n => n.path)).toEqual([
      '/w/.cache',
      '/runner/_temp'
    ])
  })
})
