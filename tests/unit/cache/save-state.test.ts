// The post step's check of the image cache's save state (src/cache/save-state.ts): post runs the
// state's Nix with its arguments, environment and directory, so a forged one is refused.
import { describe, expect, it } from 'vitest'
import { checkCacheSaveState, type CacheSaveState } from '../../../src/cache/save-state.js'

const NIX = '/nix/store/0a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-nix-2.28.3/bin/nix'
const expected = {
  dir: '/home/runner/work/repo/repo/.boot-image-vm-nix-cache',
  nixPaths: [NIX],
  // The profile's nix is a link to the store's.
  realPath: (path: string) =>
    path === '/nix/var/nix/profiles/default/bin/nix' || path === NIX ? NIX : undefined,
  env: { NIX_USER_CONF_FILES: '/runner/_temp/boot-image-vm-Ab12Cd/work/nix/nix.conf' }
}

function state(change: Partial<Record<keyof CacheSaveState, unknown>> = {}): string {
  const good: CacheSaveState = {
    key: 'boot-image-vm-v2-x86_64-linux-abc-nix2.28-bootImage.0123abcd-i-0123456789abcdef',
    hit: false,
    dir: expected.dir,
    nixPath: '/nix/var/nix/profiles/default/bin/nix',
    nixEnv: { ...expected.env },
    roots: ['/nix/store/0a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-boot.iso'],
    drvPaths: ['/nix/store/0a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-boot.iso.drv'],
    kind: 'image',
    substituters: ['https://cache.nixos.org'],
    trustedKeys: ['cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='],
    maxBytes: 4096 * 1024 * 1024,
    timeoutSeconds: 120
  }
  return JSON.stringify({ ...good, ...change })
}

describe('checkCacheSaveState', () => {
  it('accepts what main writes (its nix through the profile link)', () => {
    expect(checkCacheSaveState(state(), expected)).toHaveProperty('state.key')
  })

  it.each([
    ['a nixPath post does not find', { nixPath: '/tmp/evil/nix' }, /not a Nix this step finds/],
    [
      'a nixPath in the store that is not on PATH',
      { nixPath: '/nix/store/x/bin/nix' },
      /not a Nix/
    ],
    ['a nixEnv main did not export', { nixEnv: { LD_PRELOAD: '/tmp/x.so' } }, /LD_PRELOAD/],
    [
      'another NIX_USER_CONF_FILES',
      { nixEnv: { NIX_USER_CONF_FILES: '/tmp/evil.conf' } },
      /NIX_USER_CONF_FILES/
    ],
    ['another directory', { dir: '/' }, /dir is not/],
    [
      'an option among the roots',
      { roots: ['--option', 'plugin-files', '/tmp/x.so'] },
      /store path/
    ],
    ['roots that are no list', { roots: 'x' }, /not a list/],
    ['a relative drv', { drvPaths: ['x.drv'] }, /store path/],
    ['a key of another kind', { key: 'boot-image-vm-baseline-v2/x' }, /cache key/],
    ['an ssh substituter', { substituters: ['ssh://evil?remote-program=x'] }, /substituter/],
    ['an unknown kind', { kind: 'all' }, /kind/],
    ['a negative timeout', { timeoutSeconds: -1 }, /timeoutSeconds/]
  ] as const)('refuses %s', (_, change, reason) => {
    const checked = checkCacheSaveState(state(change), expected)
    expect(checked).toHaveProperty('reason')
    expect((checked as { reason: string }).reason).toMatch(reason)
  })

  it('refuses what is not JSON, and when post finds no Nix at all', () => {
    expect(checkCacheSaveState('{', expected)).toEqual({ reason: 'not JSON' })
    expect(checkCacheSaveState(state(), { ...expected, nixPaths: [] })).toHaveProperty('reason')
  })
})
