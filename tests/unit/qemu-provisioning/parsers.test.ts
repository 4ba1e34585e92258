// The provisioning's small parsers: `qemu-system-x86_64 --version`, /etc/os-release, and what
// `nix flake metadata --json` and `nix build --json` print (shapes recorded from Nix 2.8 here).
import { describe, expect, it } from 'vitest'
import {
  hasNixpkgsInput,
  nixQemuArgs,
  parseBuildOutputs
} from '../../../src/qemu-provisioning/nix-output.js'
import {
  describeOs,
  isDebianLike,
  parseOsRelease
} from '../../../src/qemu-provisioning/os-release.js'
import { parseQemuVersion } from '../../../src/qemu-provisioning/version.js'

describe('parseQemuVersion', () => {
  it('reads Debian, Ubuntu and nixpkgs builds', () => {
    expect(
      parseQemuVersion(
        'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n'
      )
    ).toBe('7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)')
    expect(parseQemuVersion('QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)\n')).toBe(
      '8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)'
    )
    expect(parseQemuVersion('QEMU emulator version 9.1.2\nCopyright (c) 2003-2024 …\n')).toBe(
      '9.1.2'
    )
  })

  it('says nothing for something that is not QEMU', () => {
    expect(parseQemuVersion('')).toBeUndefined()
    expect(parseQemuVersion('bash: qemu-system-x86_64: command not found')).toBeUndefined()
  })
})

describe('os-release', () => {
  const ubuntu = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
ID=ubuntu
ID_LIKE=debian
`
  it('reads quoted and bare values and ignores comments', () => {
    expect(parseOsRelease(`# a comment\n${ubuntu}`)).toMatchObject({
      PRETTY_NAME: 'Ubuntu 24.04.1 LTS',
      ID: 'ubuntu',
      ID_LIKE: 'debian'
    })
    expect(parseOsRelease(`NAME='Single'\nX="a \\"q\\" b"`)).toEqual({
      NAME: 'Single',
      X: 'a "q" b'
    })
  })

  it('takes Debian, Ubuntu and their derivatives (by ID or ID_LIKE), and nothing else', () => {
    expect(isDebianLike(parseOsRelease(ubuntu))).toBe(true)
    expect(isDebianLike(parseOsRelease('ID=debian\nVERSION_ID="12"'))).toBe(true)
    expect(isDebianLike(parseOsRelease('ID=linuxmint\nID_LIKE="ubuntu debian"'))).toBe(true)
    expect(isDebianLike(parseOsRelease('ID=fedora\nPRETTY_NAME="Fedora Linux 40"'))).toBe(false)
    expect(isDebianLike(parseOsRelease('ID=nixos'))).toBe(false)
    expect(isDebianLike({})).toBe(false)
    expect(describeOs(parseOsRelease('ID=fedora\nPRETTY_NAME="Fedora Linux 40"'))).toBe(
      'Fedora Linux 40 (ID=fedora)'
    )
  })
})

describe('the nix source', () => {
  it('builds qemu_kvm (and OVMF.fd for uefi) from the flake’s own nixpkgs', () => {
    expect(nixQemuArgs('.', 'bios', false)).toEqual([
      'build',
      '--inputs-from',
      '.',
      'nixpkgs#qemu_kvm',
      '--no-link',
      '--json'
    ])
    expect(nixQemuArgs('github:o/r', 'uefi', true)).toEqual([
      'build',
      '--inputs-from',
      'github:o/r',
      'nixpkgs#qemu_kvm',
      'nixpkgs#OVMF.fd',
      '--no-link',
      '--print-out-paths'
    ])
  })

  it('builds the full qemu for an emulated aarch64 guest: its firmware comes with it', () => {
    expect(nixQemuArgs('.', 'bios', true, 'aarch64', false)).toEqual([
      'build',
      '--inputs-from',
      '.',
      'nixpkgs#qemu',
      '--no-link',
      '--print-out-paths'
    ])
    // On an arm64 runner the host-only qemu_kvm is the guest's; never OVMF for arm64.
    expect(nixQemuArgs('.', 'uefi', true, 'aarch64', true)).toContain('nixpkgs#qemu_kvm')
    expect(nixQemuArgs('.', 'uefi', true, 'aarch64', true)).not.toContain('nixpkgs#OVMF.fd')
  })

  it('reads every output path of --json (Nix 2.8 lists OVMF first) and --print-out-paths', () => {
    // Recorded from Nix 2.8 on the stand-in (tests/fixtures/nixpkgs-standin).
    const json =
      '[{"drvPath":"/nix/store/akvd-OVMF-standin.drv","outputs":{"fd":"/nix/store/1rcj-OVMF-standin-fd"}},' +
      '{"drvPath":"/nix/store/x6wc-qemu-standin.drv","outputs":{"out":"/nix/store/pgvq-qemu-standin"}}]'
    expect(parseBuildOutputs(json, false)).toEqual([
      '/nix/store/1rcj-OVMF-standin-fd',
      '/nix/store/pgvq-qemu-standin'
    ])
    expect(parseBuildOutputs('/nix/store/a-qemu\n/nix/store/b-OVMF-fd\n', true)).toEqual([
      '/nix/store/a-qemu',
      '/nix/store/b-OVMF-fd'
    ])
    expect(parseBuildOutputs('not json', false)).toEqual([])
    expect(parseBuildOutputs('{"x":1}', false)).toEqual([])
  })

  it('finds a direct nixpkgs input in nix flake metadata --json, and only a direct one', () => {
    const metadata = (rootInputs: Record<string, unknown>) =>
      JSON.stringify({
        locks: {
          nodes: { nixpkgs: { locked: { type: 'path' } }, root: { inputs: rootInputs } },
          root: 'root',
          version: 7
        }
      })
    expect(hasNixpkgsInput(metadata({ nixpkgs: 'nixpkgs' }))).toBe(true)
    expect(hasNixpkgsInput(metadata({ nixpkgs: ['other', 'nixpkgs'] }))).toBe(true)
    expect(hasNixpkgsInput(metadata({ other: 'other' }))).toBe(false)
    expect(hasNixpkgsInput(JSON.stringify({ locks: { nodes: { root: {} }, root: 'root' } }))).toBe(
      false
    )
    expect(hasNixpkgsInput('{"description":"no locks"}')).toBeUndefined()
    expect(hasNixpkgsInput('garbage')).toBeUndefined()
  })
})
