import { describe, expect, it } from 'vitest'
import {
  BASELINE_OUTPUT_MAX_CHARS,
  baselineFrom,
  baselineJson,
  normaliseProbeOutput,
  parseBaseline,
  parseFailedUnits,
  parseSystemState,
  probeOutputBody
} from '../../../src/report/baseline.js'
import { parseClosureSize } from '../../../src/report/baseline-file.js'
import { failedReport, passedReport, probe } from './fixtures.js'

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
        'tcp LISTEN 0 128 <ipv4>:22 <ipv4>:* users:(("sshd",pid=<pid>,fd=3))',
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
      schemaVersion: 1,
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
    expect(() => parseBaseline('{"schemaVersion":2}')).toThrow(/schemaVersion 2 is not 1/)
  })
})
