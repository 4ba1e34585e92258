// The save's manifest: what the entry stores (dependencies first), which served paths it only
// describes (those a stored path refers to), and what the import must keep (the devshell's
// environment, outside the image's closure). Pure: recorded path infos, no Nix.
import { describe, expect, it } from 'vitest'
import type { PathInfo } from '../../../src/cache/keys.js'
import { entryManifest } from '../../../src/cache/save-select.js'

const p = (name: string): string => `/nix/store/${name.padEnd(32, '0')}-${name}`
const info = (name: string, references: string[] = [], narSize = 100): PathInfo => ({
  path: p(name),
  narSize,
  references: references.map(p),
  narHash: `sha256:${name}`
})

// image → app → glibc (served); env (the devshell's environment) → bash (served), tool (local)
const local = [
  info('image', ['app']),
  info('app', ['glibc']),
  info('env', ['bash', 'tool']),
  info('tool')
]
const served = [info('glibc'), info('bash'), info('unrelated')]

describe('entryManifest', () => {
  it('stores the plan dependencies first and describes only the served paths it refers to', () => {
    const plan = { paths: [p('image'), p('app')].sort(), bytes: 200, leftOut: [] }
    const { manifest, external } = entryManifest({ plan, local, served, extra: [] })
    expect(manifest.version).toBe(1)
    expect(manifest.stored).toEqual([p('app'), p('image')])
    expect(manifest.external).toEqual([p('glibc')])
    expect(external.map(e => e.path)).toEqual([p('glibc')])
    expect(manifest.keep).toEqual([])
  })

  it('keeps the devshell environment paths the entry holds or describes, nothing else', () => {
    const stored = [p('image'), p('app'), p('env'), p('tool')].sort()
    const plan = { paths: stored, bytes: 400, leftOut: [] }
    const { manifest } = entryManifest({ plan, local, served, extra: [p('env')] })
    expect(manifest.external.sort()).toEqual([p('bash'), p('glibc')].sort())
    expect(manifest.keep?.sort()).toEqual([p('bash'), p('env'), p('tool')].sort())
    expect(manifest.keep).not.toContain(p('unrelated'))
  })

  it('keeps none of an environment the plan left out', () => {
    const plan = { paths: [p('image'), p('app')].sort(), bytes: 200, leftOut: [] }
    const { manifest } = entryManifest({ plan, local, served, extra: [p('env')] })
    expect(manifest.keep).toEqual([])
  })
})
