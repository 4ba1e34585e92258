// The post step's checks on the state main handed over (src/runner/post-state.ts): paths only inside the
// action's own run directory (links resolved), pids that are processes post may signal.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  checkCleanupPaths,
  checkPid,
  checkRunPath,
  nixCandidates,
  runDirOf,
  runDirRoots
} from '../../../src/runner/post-state.js'

const root = mkdtempSync(join(tmpdir(), 'post-state-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** A run directory as main makes it: <root>/boot-image-vm-XXXXXX/{report,work}. */
function runDir(name = 'boot-image-vm-Ab12Cd'): string {
  const dir = join(root, 'runner-temp', name)
  mkdirSync(join(dir, 'report'), { recursive: true })
  mkdirSync(join(dir, 'work', 'ssh-key'), { recursive: true })
  writeFileSync(join(dir, 'work', 'nix.conf'), '')
  return dir
}

const dirs = () => runDirRoots({ RUNNER_TEMP: join(root, 'runner-temp') }, join(root, 'no-such'))

describe('runDirOf (pure)', () => {
  const roots = ['/runner/_temp']
  it('accepts work/ contents and report/ itself', () => {
    expect(
      runDirOf('/runner/_temp/boot-image-vm-Ab12Cd/work/ssh-key', roots, 'work', true)
    ).toEqual({ runDir: '/runner/_temp/boot-image-vm-Ab12Cd' })
    expect(runDirOf('/runner/_temp/boot-image-vm-Ab12Cd/report', roots, 'report', false)).toEqual({
      runDir: '/runner/_temp/boot-image-vm-Ab12Cd'
    })
  })

  it.each([
    ['/', 'work', true],
    ['/home/runner/.ssh', 'work', true],
    ['/runner/_temp', 'work', true],
    ['/runner/_temp/boot-image-vm-Ab12Cd', 'work', true],
    ['/runner/_temp/boot-image-vm-Ab12Cd/work', 'work', true],
    ['/runner/_temp/boot-image-vm-Ab12Cd/report', 'work', true],
    ['/runner/_temp/other-dir/work/x', 'work', true],
    ['/runner/_temp/boot-image-vm-Ab12Cd/report/x', 'report', false],
    ['/runner/_temp/boot-image-vm-toolong1/work/x', 'work', true]
  ] as const)('refuses %s as %s', (path, part, inside) => {
    expect(runDirOf(path, roots, part, inside)).toHaveProperty('reason')
  })
})

describe('checkRunPath', () => {
  it('accepts the key directory main made, and says absent when it is gone', () => {
    const dir = runDir()
    expect(checkRunPath(join(dir, 'work', 'ssh-key'), dirs(), 'work', true)).toEqual({
      path: join(dir, 'work', 'ssh-key')
    })
    expect(checkRunPath(join(dir, 'work', 'gone'), dirs(), 'work', true)).toEqual({ absent: true })
  })

  it('refuses /, a directory outside, a relative path and a link out of the run directory', () => {
    const dir = runDir('boot-image-vm-Link01')
    const outside = mkdtempSync(join(root, 'outside-'))
    symlinkSync(outside, join(dir, 'work', 'escape'))
    for (const path of ['/', outside, 'work/ssh-key', join(dir, 'work', 'escape')]) {
      expect(checkRunPath(path, dirs(), 'work', true), path).toHaveProperty('reason')
    }
  })

  it('refuses a run directory that belongs to another user', () => {
    const dir = runDir('boot-image-vm-Other1')
    const other = { ...dirs(), uid: (process.getuid?.() ?? 0) + 1 }
    expect(checkRunPath(join(dir, 'work', 'ssh-key'), other, 'work', true)).toMatchObject({
      reason: expect.stringMatching(/belongs to uid/)
    })
  })
})

describe('checkCleanupPaths', () => {
  it('keeps the files inside work/ and names every other entry', () => {
    const dir = runDir('boot-image-vm-Clean1')
    const conf = join(dir, 'work', 'nix.conf')
    const raw = JSON.stringify([conf, '/', '/etc/passwd', 42, join(dir, 'report')])
    const checked = checkCleanupPaths(raw, dirs())
    expect(checked.paths).toEqual([conf])
    expect(checked.reasons).toHaveLength(4)
    expect(checkCleanupPaths('{"not":"a list"}', dirs()).reasons).toEqual(['not a list of paths'])
    expect(checkCleanupPaths('not json', dirs()).reasons).toEqual(['not JSON'])
  })
})

describe('checkPid (pure)', () => {
  it('takes a positive integer that is not init, this process or its parent', () => {
    expect(checkPid('12345')).toEqual({ pid: 12345 })
    for (const raw of [
      '',
      '0',
      '-1',
      '1',
      '12abc',
      '1e5',
      String(process.pid),
      String(process.ppid)
    ])
      expect(checkPid(raw), raw).toHaveProperty('reason')
  })
})

describe('nixCandidates', () => {
  it('finds executables named nix on PATH and in the locations, as real paths', () => {
    const bin = join(root, 'bin')
    mkdirSync(bin, { recursive: true })
    writeFileSync(join(bin, 'nix'), '#!/bin/sh\n', { mode: 0o755 })
    symlinkSync(join(bin, 'nix'), join(root, 'nix-link'))
    expect(nixCandidates(`relative:${bin}`, [join(root, 'nix-link'), join(root, 'none')])).toEqual([
      join(bin, 'nix')
    ])
  })
})
