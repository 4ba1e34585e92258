// What the devshell build leaves in TMPDIR (nix develop's nix-shell.XXXXXX) is deleted, and only that.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { nixShellDirs, removeNewShellDirs, shellTempParent } from '../../../src/build/stage.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('nix-shell.* clean-up after a devshell build', () => {
  it('removes exactly the nix-shell.* directories that appeared, nothing that was there before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'biv-shell-dirs-'))
    const elsewhere = mkdtempSync(join(tmpdir(), 'biv-shell-target-'))
    dirs.push(dir, elsewhere)
    mkdirSync(join(dir, 'nix-shell.before'))
    mkdirSync(join(dir, 'unrelated'))
    const before = await nixShellDirs(dir)
    expect([...before]).toEqual(['nix-shell.before'])

    mkdirSync(join(dir, 'nix-shell.AbC123', 'nested'), { recursive: true })
    writeFileSync(join(dir, 'nix-shell.AbC123', 'nested', 'file'), 'x')
    writeFileSync(join(dir, 'nix-shell.file'), 'not a directory')
    symlinkSync(elsewhere, join(dir, 'nix-shell.link'))
    mkdirSync(join(dir, 'other-new'))

    const removed = await removeNewShellDirs(dir, before)
    expect(removed).toEqual([join(dir, 'nix-shell.AbC123')])
    expect(readdirSync(dir).sort()).toEqual([
      'nix-shell.before',
      'nix-shell.file',
      'nix-shell.link',
      'other-new',
      'unrelated'
    ])
    expect(readdirSync(elsewhere)).toEqual([])
  })

  it('a TMPDIR that cannot be read: nothing to list, nothing removed', async () => {
    const missing = join(tmpdir(), 'biv-no-such-dir-' + process.pid)
    expect(await nixShellDirs(missing)).toEqual(new Set())
    expect(await removeNewShellDirs(missing, new Set())).toEqual([])
  })

  it('nix develop creates its directory in TMPDIR, or /tmp when TMPDIR is unset or empty', () => {
    expect(shellTempParent({ TMPDIR: '/var/tmp/x' })).toBe('/var/tmp/x')
    expect(shellTempParent({ TMPDIR: '' })).toBe('/tmp')
    expect(shellTempParent({})).toBe('/tmp')
  })
})
