import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  BASELINE_OUTPUT_MAX_CHARS,
  baselineFrom,
  baselineJson,
  normaliseProbeOutput,
  parseBaseline,
  parseFailedUnits,
  parseSystemState,
  probeOutputBody,
  withHistory
} from '../../../src/report/baseline.js'
import { HISTORY_RUNS, phasesOf } from '../../../src/report/boot-history.js'
import { parseClosureSize } from '../../../src/report/baseline-file.js'
import { failedReport, passedReport, probe } from './fixtures.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures')

/** probes/<name>.txt as the VM stage writes it. */
function probeFile(name: string, stdout: string, durationSeconds = 0.12): string {
  return [
    `probe: ${name}`,
    `command: echo ${name}`,
    'exit code: 0',
    `duration: ${durationSeconds.toFixed(2)} s`,
    '',
    '--- stdout ---',
    stdout.replace(/\n?$/, '\n'),
    '--- stderr ---',
    '\n'
  ].join('\n')
}

describe('normaliseProbeOutput', () => {
  it('masks addresses, timestamps, durations, pids and host keys', () => {
    const text = [
      '2: eth0: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc pfifo_fast',
      '    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff',
      '    inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0',
      '       valid_lft 86391sec preferred_lft 86391sec',
      '    inet6 fec0::5054:ff:fe12:3456/64 scope site dynamic',
      '    inet6 ::1/128 scope host',
      'Nov 25 18:52:05 host sshd[1234]: Accepted publickey for root from 10.0.2.2 port 54022',
      '[    3.141592] virtio_net virtio0 eth0: renamed',
      'Startup finished in 1.234s (kernel) + 12.5s (userspace)',
      'tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=812,fd=3))',
      'tcp ESTAB 0 0 10.0.2.15:22 10.0.2.2:54022',
      'host key SHA256:uF3bTl0nE4RlVq0l6Tk5n3lM8xJ2c9wQeYtR1aS2dFg',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl root@x',
      'boot id 8d2b6c1e-7f3a-4b5c-9d8e-1f2a3b4c5d6e, machine 0123456789abcdef0123456789abcdef',
      'at 2026-11-25T18:52:05.123Z and 18:52:05'
    ].join('\n')
    const out = normaliseProbeOutput(text)
    expect(out).toBe(
      [
        '2: eth0: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc pfifo_fast',
        '    link/ether <mac> brd <mac>',
        '    inet <ipv4> brd <ipv4> scope global eth0',
        '       valid_lft <duration> preferred_lft <duration>',
        '    inet6 <ipv6> scope host',
        '<time> host sshd[<pid>]: Accepted publickey for root from <ipv4> port 54022',
        '[<t>] virtio_net virtio0 eth0: renamed',
        'Startup finished in <duration> (kernel) + <duration> (userspace)',
        'tcp LISTEN 0 128 <ipv4>:22 <ipv4>:* users:(("sshd",pid=<pid>,fd=<fd>))',
        'tcp ESTAB 0 0 <ipv4>:22 <ipv4>:<port>',
        'host key <fingerprint>',
        'ssh-ed25519 <key> root@x',
        'boot id <uuid>, machine <id>',
        'at <time> and <time>'
      ].join('\n')
    )
  })

  it('leaves out autoconfigured IPv6 addresses, which come and go with router advertisements', () => {
    const early = [
      '    inet 10.0.2.15/24 scope global eth0',
      '    inet6 fe80::1/64 scope link'
    ].join('\n')
    const late = [
      '    inet 10.0.2.15/24 scope global eth0',
      '    inet6 fec0::5054:ff:fe12:3456/64 scope site dynamic flags 100',
      '       valid_lft 86391sec preferred_lft 14391sec',
      '    inet6 fe80::1/64 scope link tentative'
    ].join('\n')
    expect(normaliseProbeOutput(late)).toBe(normaliseProbeOutput(early))
  })

  // Recorded from the busybox fixture guest (two boots), then iproute2's text and JSON forms.
  it('reads a link in its linkwatch delay (carrier, not yet operationally up) as up', () => {
    const settling = [
      '2: eth0: <NO-CARRIER,BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel qlen 1000',
      '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP,NO-CARRIER> mtu 1500 qdisc fq_codel state DOWN group default qlen 1000',
      '[{"ifindex":2,"ifname":"eth0","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"fq_codel","operstate":"DOWN","group":"default"}]'
    ]
    const settled = [
      '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel qlen 1000',
      '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000',
      '[{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"fq_codel","operstate":"UP","group":"default"}]'
    ]
    settling.forEach((line, i) =>
      expect(normaliseProbeOutput(line)).toBe(normaliseProbeOutput(settled[i]!))
    )
  })

  it('keeps a link that has lost its carrier as it is', () => {
    const lost = [
      '2: eth0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc fq_codel state DOWN qlen 1000',
      '[{"ifindex":2,"ifname":"eth0","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP"],"mtu":1500,"operstate":"DOWN"}]'
    ].join('\n')
    expect(normaliseProbeOutput(lost)).toBe(lost)
  })

  it('keeps what matters: names, states, store paths, kernel versions', () => {
    const text =
      'Linux boot-image-vm 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 x86_64 GNU/Linux\n' +
      'sshd.service loaded failed failed OpenSSH\n' +
      '/nix/store/49m7n0iaz9v4clk8zl9hf2srbn7gap9p-nixos-system\n'
    expect(normaliseProbeOutput(text)).toBe(text)
  })

  it('is stable: two boots that differ only in masked values normalise the same', () => {
    const a = 'inet 10.0.2.15/24 valid_lft 86399sec\npid 100 at 12:00:01\n\n\n'
    const b = 'inet 10.0.2.16/24 valid_lft 86311sec  \npid 212 at 12:03:41\n'
    expect(normaliseProbeOutput(a)).toBe(normaliseProbeOutput(b))
  })

  // Recorded: the default probes on the systemd fixture guest, two boots in a row of one unchanged
  // image (31 s and 57 s to SSH: the second under load, with many more readiness attempts).
  const recorded = (boot: number, name: string): string =>
    readFileSync(join(FIXTURES, 'probes', `systemd-${boot}`, `${name}.txt`), 'utf8')
  const defaultProbes = readdirSync(join(FIXTURES, 'probes', 'systemd-1')).map(f =>
    f.replace(/\.txt$/, '')
  )

  it.each(defaultProbes)('makes the default probe %s read the same on both boots', name => {
    const [a, b] = [1, 2].map(boot => normaliseProbeOutput(probeOutputBody(recorded(boot, name))))
    expect(b).toBe(a)
  })

  it('masks DHCP lease lifetimes in `ip -json address`, not the forever ones', () => {
    const out = normaliseProbeOutput(probeOutputBody(recorded(2, 'addresses')))
    expect(recorded(1, 'addresses')).toContain('"valid_life_time":86394')
    expect(recorded(2, 'addresses')).toContain('"valid_life_time":86385')
    expect(out).toContain('"valid_life_time":<lifetime>,"preferred_life_time":<lifetime>')
    expect(out).toContain('"valid_life_time":4294967295')
    // The autoconfigured (dynamic) IPv6 address is left out, the link-local one kept.
    expect(out).not.toContain('"scope":"site"')
    expect(out).toContain('"scope":"link"')
  })

  it('sorts the sockets of `ss` and still shows a socket that is new', () => {
    const a = normaliseProbeOutput(probeOutputBody(recorded(1, 'listening')))
    expect(a).toContain('tcp LISTEN <q> 0 <ipv4>:22 <ipv4>:* users:(("sshd",pid=<pid>,fd=<fd>))')
    const more = recorded(1, 'listening').replace(
      /^tcp .*"sshd",pid=\d+,fd=4\)\) *$/m,
      line =>
        `${line}\ntcp   LISTEN 0      128          0.0.0.0:8080      0.0.0.0:*    users:(("nginx",pid=300,fd=6))`
    )
    expect(normaliseProbeOutput(probeOutputBody(more))).toContain(
      'tcp LISTEN <q> 128 <ipv4>:8080 <ipv4>:* users:(("nginx",pid=<pid>,fd=<fd>))'
    )
  })

  it('reads a log by what it says: order, counts and timing-only lines do not matter', () => {
    const journal = normaliseProbeOutput(probeOutputBody(recorded(2, 'journal')))
    expect(recorded(2, 'journal')).toMatch(/sshd\[\d+\]: drop connection #\d+ .* past MaxStartups/)
    expect(journal).not.toMatch(/MaxStartups|Disconnected from|kernel: tsc: /)
    expect(journal).toContain(
      'systemd[<pid>]: Reached target multi-user.target - Multi-User System.'
    )
    // What a regression looks like in a log still shows: a unit that failed.
    const failing = recorded(2, 'journal').replace(
      '--- stderr ---',
      '[   30.000001] boot-image-vm systemd[1]: Failed to start foo.service - Foo.\n--- stderr ---'
    )
    expect(normaliseProbeOutput(probeOutputBody(failing))).toContain(
      'systemd[<pid>]: Failed to start foo.service - Foo.'
    )
  })

  // Recorded in the e2e proof on a loaded host: the kernel's timer check and APIC calibration
  // went another way on the second boot, and systemd-networkd's socket got another descriptor.
  it('reads the kernel timer check and socket descriptors as the timing they are', () => {
    const journal = recorded(1, 'journal')
    const loadedBoot = journal.replace(
      '--- stderr ---',
      [
        '[    0.306816] boot-image-vm kernel: ..MP-BIOS bug: 8254 timer not connected to IO-APIC',
        '[    0.307000] boot-image-vm kernel: ...trying to set up timer (IRQ0) through the 8259A ...',
        '[    0.307100] boot-image-vm kernel: ..... (found apic 0 pin 2) ...',
        '[    0.309000] boot-image-vm kernel: ....... failed.',
        '[    0.309100] boot-image-vm kernel: ...trying to set up timer as Virtual Wire IRQ...',
        '[    0.311000] boot-image-vm kernel: ..... works.',
        '[    0.420000] boot-image-vm kernel: APIC calibration not consistent with PM-Timer: 148ms instead of 100ms',
        '[    0.420001] boot-image-vm kernel: APIC delta adjusted to PM-Timer: 6249961 (9265443)',
        '--- stderr ---'
      ].join('\n')
    )
    expect(normaliseProbeOutput(probeOutputBody(loadedBoot))).toBe(
      normaliseProbeOutput(probeOutputBody(journal))
    )
    const ss = recorded(1, 'listening')
    expect(
      normaliseProbeOutput(
        ss.replace('"systemd-network",pid=178,fd=18', '"systemd-network",pid=178,fd=10')
      )
    ).toBe(normaliseProbeOutput(ss))
  })

  it('masks uptime, load and traffic counters', () => {
    const a = [
      ' 18:52:05 up  1:23,  1 user,  load average: 0.00, 0.01, 0.05',
      '    RX:  bytes packets errors dropped  missed   mcast',
      '        123456     789      0       0       0       0',
      '        RX packets 12  bytes 3456 (3.3 KiB)',
      '{"stats64":{"rx":{"bytes":9000,"packets":12,"errors":0}}}'
    ].join('\n')
    const b = [
      ' 18:59:41 up 7 min,  1 user,  load average: 1.20, 0.31, 0.10',
      '    RX:  bytes packets errors dropped  missed   mcast',
      '        654321     987      0       1       0       0',
      '        RX packets 99  bytes 99999 (97.6 KiB)',
      '{"stats64":{"rx":{"bytes":12000,"packets":40,"errors":0}}}'
    ].join('\n')
    expect(normaliseProbeOutput(b)).toBe(normaliseProbeOutput(a))
    expect(normaliseProbeOutput(a)).toContain('up <uptime>,  1 user,  load average: <load>')
  })
})

describe('probe file parsing', () => {
  it('drops the header (exit code and duration) from the digest input', () => {
    expect(probeOutputBody(probeFile('kernel', 'Linux', 1.5))).toBe(
      probeOutputBody(probeFile('kernel', 'Linux', 9.25))
    )
  })

  it('reads failed units with and without --plain', () => {
    const plain = [
      'UNIT               LOAD   ACTIVE SUB    DESCRIPTION',
      'foo.service        loaded failed failed Foo',
      'bar-baz.mount      loaded failed failed Bar',
      '',
      '2 loaded units listed.'
    ].join('\n')
    expect(parseFailedUnits(plain)).toEqual(['bar-baz.mount', 'foo.service'])
    expect(parseFailedUnits('● foo.service loaded failed failed Foo\n')).toEqual(['foo.service'])
    expect(parseFailedUnits('0 loaded units listed.\n')).toEqual([])
  })

  it('reads the system state from the last stdout line', () => {
    expect(parseSystemState(probeFile('system-state', 'starting\ndegraded'))).toBe('degraded')
    expect(parseSystemState(probeFile('system-state', 'running'))).toBe('running')
    expect(parseSystemState(probeFile('system-state', ''))).toBeUndefined()
  })

  it('reads the closure size in both `nix path-info --json` forms', () => {
    expect(parseClosureSize('[{"path":"/nix/store/x","closureSize":123}]')).toBe(123)
    expect(parseClosureSize('{"/nix/store/x":{"closureSize":456}}')).toBe(456)
    expect(parseClosureSize('not json')).toBeUndefined()
  })
})

describe('baselineFrom', () => {
  const files: Record<string, string> = {
    'probes/system-state.txt': probeFile('system-state', 'running'),
    'probes/journal.txt': probeFile('journal', '[    1.000000] booted at 10.0.2.15'),
    'probes/failed-units.txt': probeFile(
      'failed-units',
      'foo.service loaded failed failed Foo\n1 loaded units listed.'
    )
  }
  const read = (file: string): string | undefined => files[file]

  it('keeps identity, Nix, accelerator, timeline, probes, units, state and the test', () => {
    const report = passedReport()
    report.vm!.probes.push(probe('failed-units', { required: false }))
    const baseline = baselineFrom(report, read, {
      flake: '.',
      attribute: 'bootImage',
      isoBytes: 1000,
      run: 'o/r run 1 attempt 1 on main'
    })
    expect(baseline).toMatchObject({
      schemaVersion: 2,
      createdAt: report.finishedAt,
      result: 'passed',
      run: 'o/r run 1 attempt 1 on main',
      image: {
        flake: '.',
        attribute: 'bootImage',
        drvPath: report.builds[0].drvPath,
        outPath: report.builds[0].outPath,
        isoBytes: 1000
      },
      nix: { version: '2.31.2', variant: 'nix' },
      accel: 'kvm',
      bootSeconds: 42.04,
      milestones: { kernel: 1.2, ready: 42 },
      systemState: 'running',
      failedUnits: ['foo.service'],
      test: { exitCode: 0, timedOut: false }
    })
    expect(baseline.probes?.map(p => p.name)).toEqual(['system-state', 'journal', 'failed-units'])
    const journal = baseline.probes![1]
    expect(journal.output).toContain('[<t>] booted at <ipv4>')
    expect(journal.digest).toMatch(/^[0-9a-f]{16}$/)
    expect(parseBaseline(baselineJson(baseline))).toEqual(JSON.parse(baselineJson(baseline)))
  })

  it('keeps a long output cut, with a digest of the whole', () => {
    const report = passedReport()
    const long = 'x'.repeat(BASELINE_OUTPUT_MAX_CHARS + 10)
    const a = baselineFrom(report, () => probeFile('p', long))
    const b = baselineFrom(report, () => probeFile('p', long + 'y'))
    expect(a.probes![0].truncated).toBe(true)
    expect(a.probes![0].output!.length).toBe(BASELINE_OUTPUT_MAX_CHARS)
    expect(a.probes![0].digest).not.toBe(b.probes![0].digest)
  })

  it('has no probes for a run that did not boot, and no digest for an unreadable file', () => {
    expect(baselineFrom(failedReport('boot-failed'), read).probes).toBeUndefined()
    expect(baselineFrom(failedReport('build-failed'), read).bootSeconds).toBeUndefined()
    const missing = baselineFrom(passedReport(), () => undefined)
    expect(missing.probes![0].digest).toBeUndefined()
  })
})

describe('parseBaseline', () => {
  it('says what is wrong', () => {
    expect(() => parseBaseline('nope')).toThrow(/not JSON/)
    expect(() => parseBaseline('[]')).toThrow(/not a baseline/)
    expect(() => parseBaseline('{"schemaVersion":3}')).toThrow(/schemaVersion 3 is not 1 or 2/)
  })

  it('reads a version 1 baseline: its own run is its window', () => {
    const v1 = parseBaseline(readFileSync(join(FIXTURES, 'baselines', 'v1-baseline.json'), 'utf8'))
    expect(v1.schemaVersion).toBe(2)
    expect(v1.probes?.map(p => p.name)).toEqual(['kernel'])
    expect(v1.history).toEqual([
      {
        createdAt: '2026-11-24T03:00:00.000Z',
        run: 'octo-org/boot-image-vm-test run 97 attempt 1 on main',
        label: '#97',
        accel: 'tcg',
        bootSeconds: 9.84,
        milestones: v1.milestones
      }
    ])
  })

  it('leaves out a malformed window entry rather than failing', () => {
    const text = baselineJson({ ...parseBaseline(baselineJson(sample())), history: [] }).replace(
      '"history": []',
      '"history": [{"createdAt": "x"}, {"createdAt": "y", "bootSeconds": 3, "milestones": {}}]'
    )
    expect(parseBaseline(text).history.map(r => r.createdAt)).toEqual(['y'])
  })
})

function sample() {
  return baselineFrom(passedReport(), () => undefined, { run: 'o/r run 5 attempt 2 on main' })
}

describe('the window of recent runs', () => {
  it("starts with a passing run's own boot, and a failed run has none", () => {
    const report = passedReport()
    const own = baselineFrom(report, () => undefined, {
      run: 'o/r run 5 attempt 2 on main',
      firmware: 'uefi'
    })
    expect(own.firmware).toBe('uefi')
    expect(own.history).toEqual([
      {
        createdAt: report.finishedAt,
        run: 'o/r run 5 attempt 2 on main',
        label: '#5.2',
        accel: 'kvm',
        firmware: 'uefi',
        bootSeconds: 42.04,
        milestones: { kernel: 1.2, ready: 42 }
      }
    ])
    expect(baselineFrom(failedReport('probe-failed'), () => undefined).history).toEqual([])
  })

  it(`keeps the newest ${HISTORY_RUNS} runs of each accelerator and firmware, oldest first`, () => {
    let saved = sample()
    for (let i = 0; i < 12; i++) {
      const run = { ...sample(), createdAt: `2026-11-25T18:${10 + i}:00.000Z`, run: `run ${i}` }
      run.accel = i % 3 === 0 ? 'tcg' : 'kvm'
      saved = withHistory(
        baselineFrom(passedReport(), () => undefined),
        saved
      )
      saved = withHistory({ ...run, history: [] }, saved)
    }
    const kvm = saved.history.filter(r => r.accel === 'kvm')
    const tcg = saved.history.filter(r => r.accel === 'tcg')
    expect(kvm).toHaveLength(HISTORY_RUNS)
    expect(tcg.map(r => r.run)).toEqual(['run 0', 'run 3', 'run 6', 'run 9'])
    expect(kvm.at(-1)?.run).toBe('run 11')
    // The same run read twice (a re-run of the comparison) is not doubled.
    expect(withHistory(saved, saved).history).toEqual(saved.history)
    // Small: a window of runs, not of reports.
    expect(baselineJson(saved).length).toBeLessThan(8_000)
  })
})

describe('phasesOf', () => {
  it('runs each phase from its milestone to the next one seen, the last to SSH answering', () => {
    expect(
      phasesOf({ firmware: 0.4, kernel: 2, init: 4.5, network: 6, sshd: 8, ready: 8.1 }, 9.5)
    ).toEqual({
      firmware: 2,
      kernel: 2.5,
      init: 1.5,
      network: 2,
      sshd: 1.5
    })
    // A milestone not seen leaves its time in the phase before; one after SSH answered is ignored.
    expect(phasesOf({ kernel: 2, network: 6, sshd: 12 }, 10)).toEqual({
      firmware: 2,
      kernel: 4,
      network: 4
    })
  })
})
