import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  bootTimeline,
  cleanConsoleText,
  findFingerprint,
  findPanic,
  hookPhase,
  isSshdLine,
  type ConsoleLine
} from '../../../src/vm/timeline.js'

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'serial')

/** A recorded serial log as console lines, a tenth of a second apart. */
function recorded(name: string): ConsoleLine[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .split('\n')
    .map((text, index) => ({ seconds: index / 10, text: cleanConsoleText(text) }))
}

const names = (lines: ConsoleLine[]): string[] => bootTimeline(lines).map(m => m.name)

describe('bootTimeline', () => {
  it('finds every milestone of the busybox fixture booted by BIOS, in order', () => {
    const timeline = bootTimeline(recorded('busybox-bios.log'))
    expect(timeline.map(m => m.name)).toEqual([
      'firmware',
      'kernel',
      'init',
      'network',
      'sshd',
      'ready'
    ])
    expect(timeline[0].line).toContain("Booting `boot-image-vm fixture'")
    expect(timeline[1].line).toMatch(/Linux version 6\./)
    expect(timeline[5].line).toBe('boot-image-vm: ready')
    const seconds = timeline.map(m => m.seconds)
    expect(seconds).toEqual([...seconds].sort((a, b) => a - b))
  })

  it('takes the UEFI boot manager as the firmware and not GRUB’s welcome as init', () => {
    const timeline = bootTimeline(recorded('busybox-uefi.log'))
    expect(timeline.map(m => m.name)).toEqual([
      'firmware',
      'kernel',
      'init',
      'network',
      'sshd',
      'ready'
    ])
    expect(timeline[0].line).toMatch(/^BdsDxe: loading Boot0001/)
    expect(timeline.find(m => m.name === 'init')?.line).not.toMatch(/GRUB/)
  })

  it('stops where a panicking guest stopped', () => {
    expect(names(recorded('panic-bios.log'))).toEqual(['firmware', 'kernel', 'init'])
  })

  it('finds every milestone of the Debian systemd fixture, and not network-pre as the network', () => {
    // Recorded from the systemdImage fixture (tests/fixtures/README.md) booted by BIOS under TCG.
    const timeline = bootTimeline(recorded('debian-systemd-bios.log'))
    expect(timeline.map(m => m.name)).toEqual([
      'firmware',
      'kernel',
      'init',
      'system',
      'network',
      'sshd',
      'ready'
    ])
    const line = (name: string): string | undefined => timeline.find(m => m.name === name)?.line
    expect(line('init')).toMatch(/Run \/init as init process/)
    // The busybox initramfs hands over to the real root's systemd: its banner starts `system`.
    expect(line('system')).toBe('Welcome to Debian GNU/Linux 12 (bookworm)!')
    expect(line('network')).toBe('[  OK  ] Reached target network.target - Network.')
    expect(line('sshd')).toBe('[  OK  ] Started ssh.service - OpenBSD Secure Shell server.')
    expect(line('ready')).toMatch(/Reached target multi-user\.target|login: /)
  })

  it('reads a NixOS boot from its own markers and systemd, with loglevel=4 hiding the kernel', () => {
    const lines = [
      'SeaBIOS (version 1.16.2-debian-1.16.2-1)',
      '<<< NixOS Stage 1 >>>',
      'loading module virtio_net...',
      '<<< NixOS Stage 2 >>>',
      'running activation script...',
      'starting systemd...',
      'Welcome to NixOS 24.05 (Uakari)!',
      '[  OK  ] Reached target Network.',
      '[  OK  ] Started SSH Daemon.',
      '[  OK  ] Reached target Multi-User System.',
      '<<< Welcome to NixOS 24.05.20240601.abcdef (x86_64) - ttyS0 >>>',
      'nixos login: '
    ].map((text, index) => ({ seconds: index, text }))
    const timeline = bootTimeline(lines)
    expect(timeline.map(m => [m.name, m.seconds, m.label])).toEqual([
      ['firmware', 0, undefined],
      ['init', 1, 'NixOS stage 1'],
      ['system', 3, 'NixOS stage 2'],
      ['network', 7, undefined],
      ['sshd', 8, undefined],
      ['ready', 9, 'multi-user']
    ])
  })

  it('takes NixOS’s login banner as ready, and systemd’s banner in the initrd as init', () => {
    const lines = [
      'Welcome to NixOS 24.11 (Vicuna) (Initrd)!',
      '[  OK  ] Reached target Initrd Root Device.',
      'Welcome to NixOS 24.11 (Vicuna)!',
      '<<< Welcome to NixOS 24.11.1234.abcdef (x86_64) - ttyS0 >>>'
    ].map((text, index) => ({ seconds: index, text }))
    expect(bootTimeline(lines).map(m => [m.name, m.label])).toEqual([
      ['init', 'systemd in the initrd'],
      ['system', 'systemd'],
      ['ready', 'NixOS login banner']
    ])
  })

  it('counts `Welcome to` only in systemd’s and NixOS’s forms', () => {
    for (const text of [
      'Welcome to GRUB!',
      'Welcome to emergency mode! After logging in, type "journalctl -xb" to view',
      'Welcome to the BusyBox shell',
      'ftp> Welcome to the server, anonymous'
    ]) {
      const phases = bootTimeline([{ seconds: 1, text }]).map(m => m.name)
      expect(
        phases.filter(name => name !== 'firmware'),
        text
      ).toEqual([])
    }
  })

  it('counts nothing after systemd entered emergency mode (it still reaches Network)', () => {
    const lines = [
      '<<< NixOS Stage 2 >>>',
      '[FAILED] Failed to mount /home.',
      '[  OK  ] Reached target Emergency Mode.',
      '[  OK  ] Reached target Network.',
      'You are in emergency mode. After logging in, type "journalctl -xb" to view'
    ].map((text, index) => ({ seconds: index, text }))
    expect(bootTimeline(lines).map(m => m.name)).toEqual(['system'])
  })

  it('is empty for a silent console', () => {
    expect(bootTimeline([])).toEqual([])
  })
})

describe('findPanic', () => {
  it('finds the panic of the panic fixture', () => {
    const panics = recorded('panic-bios.log')
      .map(line => findPanic(line.text))
      .filter(Boolean)
    expect(panics[0]).toMatch(/Kernel panic - not syncing: Attempted to kill init!/)
  })

  it('finds the usual fatal lines', () => {
    for (const line of [
      '[    1.2] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
      '[    1.3] ---[ end Kernel panic - not syncing: Fatal exception ]---',
      'KVM internal error. Suberror: 1'
    ]) {
      expect(findPanic(line)).toBe(line.trim())
    }
  })

  it('ignores ordinary lines, including panic= on the kernel command line', () => {
    for (const line of recorded('busybox-bios.log')) expect(findPanic(line.text)).toBeUndefined()
    expect(findPanic('[    0.0] Kernel command line: console=ttyS0 panic=-1')).toBeUndefined()
  })
})

describe('cleanConsoleText', () => {
  it('removes escape sequences and carriage returns', () => {
    expect(
      cleanConsoleText('\x1b[2J\x1b[01;01H\x1b[=3h\x1b[0m\x1b[30m\x1b[47mWelcome to GRUB!\r')
    ).toBe('Welcome to GRUB!')
  })
})

describe('findFingerprint', () => {
  it('reads an OpenSSH SHA256 fingerprint from a console line', () => {
    expect(
      findFingerprint('boot-image-vm: host key SHA256:efDjRapILWf8CfY1zfUc4edVpL6WBbNDLs4H35QWMmc')
    ).toBe('SHA256:efDjRapILWf8CfY1zfUc4edVpL6WBbNDLs4H35QWMmc')
    expect(findFingerprint('256 SHA256:abc (too short)')).toBeUndefined()
  })
})

describe('the console hook: boot-image-vm: <phase>', () => {
  it('reads the phase the image marks, with or without a kernel timestamp, anything after it', () => {
    expect(hookPhase('boot-image-vm: init (variant boot)')).toBe('init')
    expect(hookPhase('boot-image-vm: network up 10.0.2.15 (eth0)')).toBe('network')
    expect(hookPhase('boot-image-vm: sshd listening on :22')).toBe('sshd')
    expect(hookPhase('[   12.5] boot-image-vm: ready')).toBe('ready')
  })

  it('is not a hook when the word is not a phase (the systemd fixture says initramfs, switching)', () => {
    for (const line of recorded('debian-systemd-bios.log')) {
      expect(hookPhase(line.text)).toBeUndefined()
    }
    expect(hookPhase('boot-image-vm login: ')).toBeUndefined()
    expect(hookPhase('boot-image-vm: init-done')).toBeUndefined()
  })

  it("the image's own mark wins over what the patterns guess", () => {
    const timeline = bootTimeline(recorded('busybox-bios.log'))
    expect(timeline.find(m => m.name === 'init')?.line).toBe('boot-image-vm: init (variant boot)')
    expect(timeline.find(m => m.name === 'sshd')?.line).toBe('boot-image-vm: sshd listening on :22')
    expect(isSshdLine('boot-image-vm: sshd listening on :22')).toBe(true)
    expect(isSshdLine('boot-image-vm: network up')).toBe(false)
  })
})

describe('what real systems print, without the hook', () => {
  const withoutHook = (name: string): ConsoleLine[] =>
    recorded(name).filter(line => !line.text.includes('boot-image-vm: '))

  it('a real Debian systemd boot still gives every phase from its own lines', () => {
    const timeline = bootTimeline(withoutHook('debian-systemd-bios.log'))
    expect(timeline.map(m => m.name)).toEqual([
      'firmware',
      'kernel',
      'init',
      'system',
      'network',
      'sshd',
      'ready'
    ])
    expect(timeline.find(m => m.name === 'ready')?.line).toMatch(/multi-user\.target|login: /)
  })

  it('the kernel freeing its init memory marks init when no "Run /init" line came', () => {
    const lines = withoutHook('busybox-bios.log').filter(line => !/Run \//.test(line.text))
    const init = bootTimeline(lines).find(m => m.name === 'init')
    expect(init?.line).toMatch(/Freeing unused kernel image \(initmem\) memory/)
  })

  it('"Run /init as init process" is preferred to the memory line before it', () => {
    const init = bootTimeline(withoutHook('busybox-bios.log')).find(m => m.name === 'init')
    expect(init?.line).toMatch(/Run \/init as init process/)
  })
})
