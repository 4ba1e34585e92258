// The offline lab itself, with real Nix and real QEMU (TCG): the fixtures do what
// tests/fixtures/README.md says, so other tests can rely on them.

import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readIsoArchitecture } from '../../src/iso/iso-arch.js'
import {
  FIXTURE_FLAKE_SOURCE,
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

/** Files of the ISO's initrd (/boot/initrd.gz, a gzipped newc cpio: build-iso.sh), as text. */
function initrdFiles(iso: string, paths: string[]): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'fixture-initrd-'))
  try {
    const initrd = join(dir, 'initrd.gz')
    const extract = spawnSync(
      'xorriso',
      ['-osirrox', 'on', '-indev', iso, '-extract', '/boot/initrd.gz', initrd],
      { encoding: 'utf8' }
    )
    expect(extract.status, extract.stderr).toBe(0)
    return Object.fromEntries(
      paths.map(path => {
        const cpio = spawnSync(
          'sh',
          ['-c', 'gzip -dc "$1" | cpio -i --to-stdout --quiet "$2"', 'sh', initrd, path],
          { encoding: 'utf8' }
        )
        expect(cpio.status, cpio.stderr).toBe(0)
        return [path, cpio.stdout]
      })
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
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
})

// The other variants are checked in the ISO itself, not booted again here (each boot took 15-25 s
// under TCG): each is booted by the end-to-end test named at its case, which fails if it does not
// do what this says.
describe('offline fixture ISOs: the variants other tests boot, read from the image', () => {
  it('bootImage also carries a UEFI loader (OVMF boots it: tests/e2e/qemu.test.ts)', async () => {
    // qemu.test.ts "qemu: nix boots under UEFI ..." boots this fixture's bootImage with OVMF to a pass.
    const { iso } = await fixtureIso()
    expect(readIsoArchitecture(iso)).toEqual({
      arch: 'x86_64',
      evidence: expect.stringMatching(
        /^EFI\/BOOT\/BOOTX64\.EFI in the (?:El Torito UEFI image|ISO)$/
      )
    })
  })

  it('panicImage’s /init exits, so the kernel panics early', async () => {
    // Booted by tests/e2e/hardening-faults.test.ts "guest-panics": 'Kernel panic' on its console.
    const { iso } = await fixtureIso('panicImage')
    const initrd = initrdFiles(iso, ['etc/variant', 'init'])
    expect(initrd['etc/variant'].trim()).toBe('panic')
    expect(initrd.init).toBe(readFileSync(join(FIXTURE_FLAKE_SOURCE, 'init.sh'), 'utf8'))
    // The panic branch comes before the network, the only way out of it is init's exit.
    const branch = /if \[ "\$variant" = panic \]; then\n(.*?)\nfi\n/s.exec(initrd.init)?.[1]
    expect(branch).toMatch(/exit 1$/)
    expect(initrd.init.indexOf('= panic ]')).toBeLessThan(initrd.init.indexOf('udhcpc'))
  })

  it('noSshd brings its network up but never starts sshd', async () => {
    // Booted by tests/e2e/hardening-faults.test.ts "no-sshd": its console says variant nosshd and
    // never "sshd listening"; the network part of /init is every variant's, brought up in the
    // BIOS boot above.
    const { iso } = await fixtureIso('noSshd')
    const initrd = initrdFiles(iso, ['etc/variant', 'init'])
    expect(initrd['etc/variant'].trim()).toBe('nosshd')
    expect(initrd.init).toBe(readFileSync(join(FIXTURE_FLAKE_SOURCE, 'init.sh'), 'utf8'))
    // After the network, sshd only in the other variants' branch, nowhere else.
    const branch = /\nif \[ "\$variant" = nosshd \]; then\n(.*?)\nelse\n(.*?)\nfi\n/s.exec(
      initrd.init
    )
    expect(branch?.[1]).toContain('say "sshd not started')
    expect(branch?.[1]).not.toContain('dropbear')
    expect(branch?.[2]).toContain('dropbear -r')
    expect(initrd.init.split('dropbear -r')).toHaveLength(2)
    expect(branch!.index).toBeGreaterThan(initrd.init.indexOf('say "network up'))
  })
})
