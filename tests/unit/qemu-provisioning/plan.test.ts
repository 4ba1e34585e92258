// The pure part of QEMU's provisioning: which sources a mode tries, in what order, and how the
// report and the error say what each gave or why it was passed over.
import { describe, expect, it } from 'vitest'
import type { QemuProvision } from '../../../src/model/index.js'
import {
  describeProvision,
  fixFor,
  noQemuError,
  notNeeded,
  notTried,
  sourcesFor
} from '../../../src/qemu-provisioning/plan.js'
import { qemuLines } from '../../../src/report/summary-qemu.js'

describe('sourcesFor', () => {
  it('tries path, then nix, then apt under auto, and only the named source otherwise', () => {
    expect(sourcesFor('auto')).toEqual(['path', 'nix', 'apt'])
    expect(sourcesFor('path')).toEqual(['path'])
    expect(sourcesFor('nix')).toEqual(['nix'])
    expect(sourcesFor('apt')).toEqual(['apt'])
  })
})

describe('noQemuError', () => {
  it('names the three ways, what happened to each and how to make each work', () => {
    const error = noQemuError('auto', 'bios', [
      {
        source: 'path',
        outcome: 'failed',
        reason: 'qemu-system-x86_64 is not on PATH (/usr/bin)',
        durationMs: 1
      },
      {
        source: 'nix',
        outcome: 'failed',
        reason: 'the flake . has no nixpkgs input',
        durationMs: 9
      },
      {
        source: 'apt',
        outcome: 'failed',
        reason: 'Fedora Linux 40 (ID=fedora) is not Debian or Ubuntu',
        durationMs: 2
      }
    ])
    expect(error).toMatch(/^No source could provide QEMU \(input 'qemu' is 'auto'\)/)
    expect(error).toContain(
      '- path: qemu-system-x86_64 is not on PATH (/usr/bin). To use it: install QEMU'
    )
    expect(error).toContain(
      '- nix: the flake . has no nixpkgs input. To use it: give the flake a `nixpkgs` input'
    )
    expect(error).toContain(
      '- apt: Fedora Linux 40 (ID=fedora) is not Debian or Ubuntu. To use it: run on Debian or Ubuntu'
    )
    expect(error).not.toContain("Or set 'qemu: auto'")
  })

  it('under a single source, says the others were not tried and offers auto', () => {
    const error = noQemuError('path', 'uefi', [
      {
        source: 'path',
        outcome: 'failed',
        reason: 'qemu-system-x86_64 is not on PATH (/bin)',
        durationMs: 0
      }
    ])
    expect(error).toMatch(/^No source could provide QEMU and OVMF \(input 'qemu' is 'path'\)/)
    expect(error).toContain("- nix: not tried: input 'qemu' is 'path'.")
    expect(error).toContain("- apt: not tried: input 'qemu' is 'path'.")
    expect(error).toContain('sudo apt-get install qemu-system-x86 ovmf')
    expect(error).toContain("Or set 'qemu: auto'")
  })
})

describe('fixFor', () => {
  it('asks for ovmf only under uefi', () => {
    expect(fixFor('path', 'bios')).toContain('`sudo apt-get install qemu-system-x86`')
    expect(fixFor('path', 'uefi')).toContain('`sudo apt-get install qemu-system-x86 ovmf`')
  })

  it("names an aarch64 guest's QEMU and AAVMF", () => {
    const fix = fixFor('path', 'bios', 'aarch64')
    expect(fix).toContain('`sudo apt-get install qemu-system-arm qemu-efi-aarch64`')
    expect(fix).toContain('qemu-system-aarch64 on PATH, with AAVMF in /usr/share/AAVMF or $AAVMF')
    expect(noQemuError('apt', 'bios', [], 'aarch64')).toMatch(
      /^No source could provide QEMU for an aarch64 guest and AAVMF/
    )
  })
})

const ready: QemuProvision = {
  status: 'ready',
  mode: 'auto',
  source: 'apt',
  binary: '/usr/bin/qemu-system-x86_64',
  version: '8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)',
  attempts: [
    {
      source: 'path',
      outcome: 'failed',
      reason: 'qemu-system-x86_64 is not on PATH (/usr/bin)',
      durationMs: 1
    },
    {
      source: 'nix',
      outcome: 'failed',
      reason: 'the flake . has no nixpkgs input',
      durationMs: 150
    },
    {
      source: 'apt',
      outcome: 'used',
      reason: 'QEMU 8.2.2 at /usr/bin/qemu-system-x86_64 (apt)',
      durationMs: 31_000
    }
  ],
  readyAfterMs: 45_000,
  bootWaitedMs: 0
}

describe('describeProvision and the summary lines', () => {
  it('say which source gave which version and why each other was passed over', () => {
    expect(describeProvision(ready)).toBe(
      'qemu-system-x86_64 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4) from apt; ' +
        'path: qemu-system-x86_64 is not on PATH (/usr/bin); nix: the flake . has no nixpkgs input'
    )
    const lines = qemuLines(ready).join('\n')
    expect(lines).toContain(
      '- QEMU: 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4) from **apt** at `/usr/bin/qemu-system-x86_64`'
    )
    // Markdown: the underscore is escaped.
    expect(lines).toContain('  - path: qemu-system-x86\\_64 is not on PATH (/usr/bin)')
    expect(lines).toContain('  - nix: the flake . has no nixpkgs input')
    expect(lines).not.toContain('waited')
  })

  it('say how long the boot waited, when it did', () => {
    expect(qemuLines({ ...ready, bootWaitedMs: 12_000 }).join('\n')).toMatch(
      /the boot waited 12(\.0)? s for it/
    )
  })

  it('record untried sources as skipped with the reason', () => {
    expect(notTried('nix', 'apt')).toMatchObject({
      outcome: 'skipped',
      reason: "not tried: input 'qemu' is 'nix'"
    })
    expect(notNeeded('apt', 'path')).toMatchObject({
      outcome: 'skipped',
      reason: 'not needed: path gave QEMU'
    })
  })
})
