import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  ConsoleWatch,
  findConsoleFailure,
  quoteConsole,
  REBOOT_LOOP_STARTS
} from '../../../src/vm/console-failures.js'
import { bootTimeline, cleanConsoleText, type ConsoleLine } from '../../../src/vm/timeline.js'

const REAL = join(import.meta.dirname, '..', '..', 'fixtures', 'real', 'console')

/**
 * A real console from tests/fixtures/real/console/ as console lines a second apart: its first line
 * (the source) dropped, and the prefix a relay put before each guest line (the NixOS test driver's
 * `machine # `, the host journal's) taken off.
 */
function real(name: string, relayPrefix?: RegExp): ConsoleLine[] {
  const [source, ...lines] = readFileSync(join(REAL, name), 'utf8').replace(/\n$/, '').split('\n')
  expect(source).toMatch(/^# source: https:\/\/\S+ \(.+\)$/)
  return lines.map((text, index) => ({
    seconds: index,
    text: cleanConsoleText(relayPrefix ? text.replace(relayPrefix, '') : text)
  }))
}

interface Conclusion {
  file: string
  relayPrefix?: RegExp
  /** What ends the boot, as a person reading the console would say; none: it is not over. */
  outcome?: 'nixos-stage-1' | 'emergency-mode' | 'reboot' | 'panic'
  cause?: RegExp
  /** The timeline's phases on this console (nothing after emergency mode counts). */
  phases: string[]
  /** What the console calls a phase, where it named it. */
  labels?: Record<string, string>
}

const TEST_DRIVER = /^machine # ?/
const HOST_JOURNAL = /^\S+ \d+ [\d:]+ nixos microvm@homeassistant\[\d+\]: ?/

const CONCLUSIONS: Conclusion[] = [
  {
    file: 'nixos-stage1-init-not-found.log',
    outcome: 'nixos-stage-1',
    // The reporter's paste says "state 2"; the path is what matters.
    cause:
      /^NixOS stage 1 failed: state 2 init script \(\/mnt-root\/\/nix\/store\/zr9pd87311q94dp3n103r6chx3dk64sw-nixos-system-debian-22\.05\.3935\.b3a8f7ed267\/init\) not found$/,
    phases: ['init'],
    labels: { init: 'NixOS stage 1' }
  },
  {
    file: 'nixos-stage1-test-driver-mounts-sh.log',
    relayPrefix: TEST_DRIVER,
    outcome: 'nixos-stage-1',
    cause:
      /^NixOS stage 1 failed: \/init: source: line 125: can't open '\/nix\/store\/zb52zilvazsljqr1p20lyvzwv5bdicf2-mounts\.sh': No such file or directory$/,
    phases: ['init']
  },
  {
    file: 'nixos-stage1-dev-root-aarch64.log',
    outcome: 'nixos-stage-1',
    // mount's own error, not its "dmesg(1) may have more information" hint after it.
    cause:
      /^NixOS stage 1 failed: mount: \/mnt-root\/iso: fsconfig\(\) failed: \/dev\/root: Can't lookup blockdev\.$/,
    phases: []
  },
  {
    file: 'nixos-stage1-prompt-only.log',
    outcome: 'nixos-stage-1',
    cause: /^NixOS stage 1 failed \(its console gave no reason before the prompt\)$/,
    phases: []
  },
  {
    file: 'systemd-emergency-mount-home.log',
    outcome: 'emergency-mode',
    cause:
      /^systemd entered emergency mode after: Failed to mount \/home \(then: Dependency failed for Local File Systems\)$/,
    // Emergency mode reaches Network too: not a network milestone.
    phases: []
  },
  {
    file: 'nixos-emergency-device-timeout.log',
    outcome: 'emergency-mode',
    cause:
      /^systemd entered emergency mode after: Timed out waiting for device dev-disk-by\.\(\.\.\.\)$/,
    phases: []
  },
  {
    file: 'systemd-welcome-to-emergency-mode.log',
    outcome: 'emergency-mode',
    cause: /^systemd entered emergency mode \(the console named no failed unit before it\)$/,
    phases: []
  },
  {
    file: 'flatcar-emergency-target.log',
    outcome: 'emergency-mode',
    cause: /^systemd entered emergency mode \(the console named no failed unit before it\)$/,
    phases: []
  },
  // Local File Systems failed, but the excerpt ends before systemd acts on it (emergency mode, or
  // nothing where emergency mode is disabled): the boot is not over yet.
  { file: 'systemd-local-fs-chain.log', phases: [] },
  {
    file: 'nixos-login-banner-netboot.log',
    phases: ['ready'],
    labels: { ready: 'NixOS login banner' }
  },
  {
    file: 'nixos-login-banner-vm-nogui.log',
    phases: ['ready'],
    labels: { ready: 'NixOS login banner' }
  },
  // A good stage 1 (its kernel also logs stage 1's lines): init from the kernel's own line.
  { file: 'nixos-stage1-riscv-normal.log', phases: ['init'] },
  // Stage 1 and 2 as kernel log lines, no markers: systemd's own lines show stage 2.
  { file: 'nixos-stage1-to-systemd-kmsg.log', phases: ['system'] },
  // An activation snippet failed, systemd started anyway: not the end of the boot.
  {
    file: 'nixos-stage2-lxc-activation.log',
    phases: ['system'],
    labels: { system: 'NixOS stage 2' }
  },
  {
    file: 'nixos-stage2-systemd-welcome.log',
    phases: ['system'],
    labels: { system: 'systemd' }
  },
  // `Reached target Local File Systems` is not the network.
  { file: 'nixos-systemd-riscv-units.log', phases: ['system'] },
  // One round of a reboot loop: one firmware start is an ordinary boot so far.
  { file: 'seabios-boot-loop.log', phases: ['firmware'] },
  {
    file: 'nixos-initrd-systemd-microvm.log',
    relayPrefix: HOST_JOURNAL,
    phases: ['init'],
    labels: { init: 'systemd in the initrd' }
  }
]

describe('real NixOS and systemd consoles (tests/fixtures/real/console/)', () => {
  it('has a conclusion for every console there, and at least 10 of them', () => {
    const files = readdirSync(REAL).filter(name => name.endsWith('.log'))
    expect(files.sort()).toEqual(CONCLUSIONS.map(c => c.file).sort())
    expect(files.length).toBeGreaterThanOrEqual(10)
  })

  for (const conclusion of CONCLUSIONS) {
    it(`${conclusion.file}: ${conclusion.outcome ?? 'not over'}`, () => {
      const lines = real(conclusion.file, conclusion.relayPrefix)
      const failure = findConsoleFailure(lines)
      expect(failure?.kind).toBe(conclusion.outcome)
      if (conclusion.cause) expect(failure?.cause).toMatch(conclusion.cause)
      const timeline = bootTimeline(lines)
      expect(timeline.map(m => m.name)).toEqual(conclusion.phases)
      for (const [name, label] of Object.entries(conclusion.labels ?? {})) {
        expect(timeline.find(m => m.name === name)?.label).toBe(label)
      }
    })
  }

  it('quotes the console around stage 1’s error: its reason before, the prompt after', () => {
    const lines = real('nixos-stage1-init-not-found.log')
    const failure = findConsoleFailure(lines)!
    const quoted = quoteConsole(lines, failure.line)
    expect(quoted).toContain('mounting /dev/vda2 on /...')
    expect(quoted).toContain('An error occurred in stage 1 of the boot process')
    expect(quoted.split('\n').pop()).toBe('    *) to ignore the error and continue')
    expect(quoted.split('\n').length).toBeLessThanOrEqual(19)
  })

  it('the SeaBIOS round repeated: a reboot loop at the third firmware start, not before', () => {
    const round = real('seabios-boot-loop.log').map(line => line.text)
    const lines = [...round, ...round, ...round].map((text, seconds) => ({ seconds, text }))
    const failure = findConsoleFailure(lines)!
    expect(failure.kind).toBe('reboot')
    expect(failure.cause).toBe(
      `the guest is in a reboot loop: the firmware started ${REBOOT_LOOP_STARTS} times; ` +
        'the console before the last restart: Booting from DVD/CD...'
    )
    expect(failure.line).toBe(lines[2 * round.length])
    expect(findConsoleFailure(lines.slice(0, 2 * round.length))).toBeUndefined()
  })
})

describe('ConsoleWatch', () => {
  const at = (seconds: number, text: string): ConsoleLine => ({ seconds, text })

  it('names a reboot by the kernel (QEMU exits on it: -no-reboot) with the line before it', () => {
    const failure = findConsoleFailure([
      at(1, 'boot-image-vm: rebooting now'),
      at(2, '[    3.141592] reboot: Restarting system')
    ])
    expect(failure?.kind).toBe('reboot')
    expect(failure?.cause).toMatch(
      /rebooted before SSH answered.*the console before it: boot-image-vm: rebooting now$/
    )
  })

  it('a kernel silent after the bootloader handed over, only once the limit has passed', () => {
    const watch = new ConsoleWatch()
    watch.push(at(1, 'SeaBIOS (version 1.16.2-debian-1.16.2-1)'))
    expect(watch.silence(500, 120)).toBeUndefined()
    watch.push(at(10, "  Booting `NixOS 24.05 Installer'"))
    watch.push(at(11, ''))
    expect(watch.silence(129, 120)).toBeUndefined()
    const failure = watch.silence(131, 120)
    expect(failure?.kind).toBe('silent-kernel')
    expect(failure?.cause).toMatch(
      /after the bootloader handed over \(Booting `NixOS 24\.05 Installer'\): nothing for 121 s.*console=ttyS0/
    )
  })

  it("names an aarch64 guest's serial console in the silent kernel's advice", () => {
    const watch = new ConsoleWatch('ttyAMA0')
    watch.push(at(10, "  Booting `NixOS 24.05 Installer'"))
    expect(watch.silence(131, 120)?.cause).toMatch(/console=ttyAMA0,115200/)
  })

  it('a kernel that printed after the bootloader is never a silent kernel', () => {
    const watch = new ConsoleWatch()
    watch.push(at(10, 'Loading /boot/vmlinuz... ok'))
    watch.push(at(12, '<<< NixOS Stage 1 >>>'))
    expect(watch.silence(1000, 120)).toBeUndefined()
  })

  it('says its failure once', () => {
    const watch = new ConsoleWatch()
    expect(watch.push(at(1, 'You are in emergency mode.'))?.kind).toBe('emergency-mode')
    expect(watch.push(at(2, 'You are in emergency mode.'))).toBeUndefined()
    expect(watch.push(at(3, 'Kernel panic - not syncing: x'))).toBeUndefined()
  })

  it('a panic is a console failure with the panic line', () => {
    const failure = findConsoleFailure([
      at(1, '[ 1.2] Kernel panic - not syncing: Attempted to kill init!')
    ])
    expect(failure?.kind).toBe('panic')
    expect(failure?.cause).toBe(
      'the guest panicked: [ 1.2] Kernel panic - not syncing: Attempted to kill init!'
    )
  })

  it('caps what it quotes from a long line', () => {
    const failure = findConsoleFailure([
      at(1, `mount: ${'x'.repeat(5000)}`),
      at(2, 'An error occurred in stage 1 of the boot process')
    ])
    expect(failure!.cause.length).toBeLessThan(260)
  })
})
