// The offline lab itself, with real Nix and real QEMU (TCG): the fixtures do what
// tests/fixtures/README.md says, so other tests can rely on them.

import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  REPO_ROOT,
  buildFixture,
  fixtureIso,
  labNixEnv,
  makeFixtureFlake,
  makeKeyPair,
  startFixtureVm,
  waitForSerial,
  waitForSsh,
  type FixtureVm
} from '../helpers/lab.js'

const vms: FixtureVm[] = []
afterAll(async () => {
  await Promise.all(vms.map(vm => vm.stop()))
})

async function boot(iso: string, options: { uefi?: boolean } = {}): Promise<FixtureVm> {
  const vm = await startFixtureVm(iso, options)
  vms.push(vm)
  return vm
}

// "the builder of <name> failed", in the formats of Nix 2.4–2.28 and 2.29+ (never a parent's line).
const builderFailed = (name: string): RegExp =>
  new RegExp(
    `builder for '/nix/store/[a-z0-9]{32}-${name}\\.drv' failed|` +
      `Cannot build '/nix/store/[a-z0-9]{32}-${name}\\.drv'\\.\\s+Reason: builder failed`
  )

describe('offline fixture flake: builds', () => {
  it('bootImage builds an output with exactly one iso/*.iso', async () => {
    const { iso } = await fixtureIso()
    expect(iso).toMatch(/^\/nix\/store\/[a-z0-9]{32}-boot-image-vm-fixture\.iso\/iso\/[^/]+\.iso$/)
    const isoDir = join(iso, '..')
    expect(readdirSync(isoDir).filter(f => f.endsWith('.iso'))).toHaveLength(1)
  })

  it('failingLeaf fails in its own builder, with its numbered log lines', async () => {
    const { publicKeyPath } = makeKeyPair()
    const build = await buildFixture('failingLeaf', publicKeyPath)
    expect(build.exitCode).not.toBe(0)
    expect(build.outPath).toBeUndefined()
    expect(build.stderr).toMatch(builderFailed('broken-leaf'))
    expect(build.stderr).toContain('line 40')
  })

  it('failingDeep fails two levels down: the leaf failed, its parents only depended on it', async () => {
    const { publicKeyPath } = makeKeyPair()
    const build = await buildFixture('failingDeep', publicKeyPath)
    expect(build.exitCode).not.toBe(0)
    expect(build.stderr).toMatch(builderFailed('broken-leaf'))
    expect(build.stderr).not.toMatch(builderFailed('boot-image-vm-rootfs'))
    expect(build.stderr).not.toMatch(builderFailed('boot-image-vm-deep\\.iso'))
    expect(build.stderr).toMatch(/boot-image-vm-rootfs\.drv/)
  })

  it('failingTwo with --keep-going reports both failing leaves', async () => {
    const { publicKeyPath } = makeKeyPair()
    const build = await buildFixture('failingTwo', publicKeyPath, labNixEnv(), ['--keep-going'])
    expect(build.exitCode).not.toBe(0)
    expect(build.stderr).toMatch(builderFailed('broken-alpha'))
    expect(build.stderr).toMatch(builderFailed('broken-beta'))
    expect(build.stderr).not.toMatch(builderFailed('boot-image-vm-two\\.iso'))
  })

  it('evalError fails at evaluation, before anything builds', async () => {
    const { publicKeyPath } = makeKeyPair()
    const build = await buildFixture('evalError', publicKeyPath)
    expect(build.exitCode).not.toBe(0)
    expect(build.stderr).toContain('boot-image-vm fixture: deliberate evaluation error')
    expect(build.stderr).not.toMatch(/building '/)
  })

  it('an unset PRE_NIXOS_ROOT_KEY is a clear evaluation error', async () => {
    const build = await buildFixture('bootImage', '')
    expect(build.exitCode).not.toBe(0)
    expect(build.stderr).toContain('PRE_NIXOS_ROOT_KEY is empty')
  })

  it('notAnIso builds, but its output holds no iso/*.iso', async () => {
    const { publicKeyPath } = makeKeyPair()
    const build = await buildFixture('notAnIso', publicKeyPath)
    expect(build.exitCode).toBe(0)
    expect(build.outPath).toMatch(/-boot-image-vm-not-an-iso$/)
    expect(readdirSync(build.outPath as string)).not.toContain('iso')
  })

  it('socketImage builds with TMPDIR=/tmp and fails with a nested devshell + pytest TMPDIR', async () => {
    // A fresh key each time makes a new derivation, as in the incident: nothing is cached.
    const shallow = await buildFixture(
      'socketImage',
      makeKeyPair().publicKeyPath,
      labNixEnv({ TMPDIR: '/tmp' })
    )
    expect(shallow.stderr).not.toContain('AF_UNIX path too long')
    expect(shallow.exitCode).toBe(0)
    expect(readdirSync(join(shallow.outPath as string, 'iso'))).toEqual([
      'boot-image-vm-socket.iso'
    ])

    const shell = mkdtempSync('/tmp/nix-shell.')
    try {
      const deep = join(shell, 'pytest-of-root', 'pytest-0', 'boot-image-ssh-key0')
      mkdirSync(deep, { recursive: true })
      const nested = await buildFixture(
        'socketImage',
        makeKeyPair().publicKeyPath,
        labNixEnv({ TMPDIR: deep })
      )
      expect(nested.exitCode).not.toBe(0)
      expect(nested.stderr).toMatch(builderFailed('boot-image-vm-socket\\.iso'))
      expect(nested.stderr).toContain('AF_UNIX path too long')
    } finally {
      rmSync(shell, { recursive: true, force: true })
    }
  })

  it('nix develop enters the bootImageTest devshell', () => {
    const flake = makeFixtureFlake()
    const result = spawnSync('nix', ['develop', `${flake}#bootImageTest`, '-c', 'env'], {
      env: labNixEnv({ TMPDIR: '/tmp' }),
      encoding: 'utf8'
    })
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^BOOT_IMAGE_TEST_SHELL=1$/m)
    expect(result.stdout).toMatch(/^BOOT_IMAGE_TEST_SHELL_HOOK=1$/m)
    expect(result.stdout).toMatch(/^TMPDIR=\/tmp\/nix-shell\.\w+$/m)
  })

  it('the reference flake.nix for users parses', () => {
    const result = spawnSync('nix-instantiate', ['--parse', join(REPO_ROOT, 'flake.nix')], {
      env: labNixEnv(),
      encoding: 'utf8'
    })
    expect(result.status, result.stderr).toBe(0)
  })
})

describe('offline fixture ISOs boot under QEMU TCG', () => {
  it('bootImage boots (BIOS) and answers ssh2 with the host key the console printed', async () => {
    const { iso, privateKeyPath } = await fixtureIso()
    const vm = await boot(iso)
    const ssh = await waitForSsh(vm, privateKeyPath, 'echo ok', 150_000)
    expect(ssh.code).toBe(0)
    expect(ssh.stdout.trim()).toBe('ok')
    const consoleKey = await waitForSerial(vm, /boot-image-vm: host key /, 5_000)
    expect(consoleKey).toContain(`boot-image-vm: host key ${ssh.hostKeySha256}`)
    await waitForSerial(vm, /boot-image-vm: ready/, 5_000)
    await vm.stop()
  }, 200_000)

  it('bootImage also boots under UEFI (OVMF)', async () => {
    const { iso } = await fixtureIso()
    const vm = await boot(iso, { uefi: true })
    await waitForSerial(vm, /boot-image-vm: ready/, 150_000)
    await vm.stop()
  }, 200_000)

  it('panicImage panics the kernel early', async () => {
    const { iso } = await fixtureIso('panicImage')
    const vm = await boot(iso)
    await waitForSerial(vm, /boot-image-vm: init/, 120_000)
    await waitForSerial(vm, /Kernel panic/, 60_000)
    await vm.stop()
  }, 200_000)

  it('noSshd boots with network but never starts sshd', async () => {
    const { iso } = await fixtureIso('noSshd')
    const vm = await boot(iso)
    await waitForSerial(vm, /boot-image-vm: network up 10\.0\.2\.15/, 120_000)
    await waitForSerial(vm, /boot-image-vm: sshd not started/, 30_000)
    await vm.stop()
  }, 200_000)
})
