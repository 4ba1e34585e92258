import { describe, expect, it } from 'vitest'
import type { Annotation, Log } from '../../../src/shared/log.js'
import { annotate, failedUnits, probeStdout } from '../../../src/report/annotations.js'
import { renderProbeFile } from '../../../src/vm/probes.js'
import { build, failedReport, FAILURE_KINDS, passedReport, probe } from './fixtures.js'

interface Said {
  level: 'error' | 'warning'
  message: string
  title?: string
}

function recorder(): { log: Log; said: Said[] } {
  const said: Said[] = []
  const push = (level: Said['level']) => (message: string, annotation?: Annotation) =>
    said.push({ level, message, title: annotation?.title })
  return {
    said,
    log: {
      info: () => {},
      echo: () => {},
      debug: () => {},
      warning: push('warning'),
      error: push('error'),
      group: (_name, fn) => fn()
    }
  }
}

const files = (map: Record<string, string>) => (file: string) => map[file]

describe('annotate', () => {
  it('says nothing about a healthy passing run', () => {
    const { log, said } = recorder()
    annotate(passedReport(), log, files({ 'probes/system-state.txt': 'running\n' }))
    expect(said).toEqual([])
  })

  it.each(FAILURE_KINDS.filter(kind => kind !== 'setup-failed' && kind !== 'build-failed'))(
    'raises an error for %s',
    kind => {
      const { log, said } = recorder()
      annotate(failedReport(kind), log)
      expect(said.filter(s => s.level === 'error')).toHaveLength(1)
    }
  )

  it('leaves root failing derivations to the build stage', () => {
    const { log, said } = recorder()
    annotate(failedReport('build-failed'), log)
    expect(said).toEqual([])
  })

  it('blames the build when no derivation can be blamed', () => {
    const { log, said } = recorder()
    const report = failedReport('build-failed')
    report.builds = [build({ status: 'build-failed', error: 'error: out of disk space' })]
    annotate(report, log)
    expect(said).toEqual([
      { level: 'error', message: 'error: out of disk space', title: 'Build failed (host)' }
    ])
  })

  it('quotes the panic line of a failed boot', () => {
    const { log, said } = recorder()
    annotate(failedReport('boot-failed'), log)
    expect(said[0].title).toBe('Boot failed')
    expect(said[0].message).toContain('Kernel panic - not syncing')
  })

  it('names each failed required probe, at most five, then the rest together', () => {
    const { log, said } = recorder()
    const report = failedReport('probe-failed')
    report.vm!.probes = Array.from({ length: 8 }, (_, i) => probe(`p${i}`, { exitCode: 2 }))
    report.vm!.probes.push(probe('slow', { exitCode: null, timedOut: true, durationMs: 60_000 }))
    report.vm!.probes.push(probe('opt', { required: false, exitCode: 1 }))
    annotate(report, log)
    expect(said.map(s => s.title)).toEqual([
      'Probe p0 failed',
      'Probe p1 failed',
      'Probe p2 failed',
      'Probe p3 failed',
      'Probe p4 failed',
      '4 more required probes failed'
    ])
    expect(said[0].message).toBe('`echo p0` exited with code 2. Output: probes/p0.txt.')
  })

  it('warns about a degraded guest and its failed units', () => {
    const { log, said } = recorder()
    const report = passedReport()
    report.vm!.probes = [
      probe('system-state', { required: false, exitCode: 1 }),
      probe('failed-units', { required: false })
    ]
    annotate(
      report,
      log,
      files({
        'probes/system-state.txt': 'starting\ndegraded\n',
        'probes/failed-units.txt':
          'UNIT LOAD ACTIVE SUB DESCRIPTION\nfoo.service loaded failed failed Foo\n1 loaded units listed.\n'
      })
    )
    expect(said).toEqual([
      {
        level: 'warning',
        message: "systemctl is-system-running says 'degraded', not 'running'.",
        title: 'Guest degraded'
      },
      {
        level: 'warning',
        message: 'Failed units on the guest: foo.service. See probes/failed-units.txt.',
        title: '1 failed unit'
      }
    ])
  })

  it('reads the state and the failed units from the saved probe files (real format)', () => {
    // As runVm saves them (probes/<name>.txt: header, stdout, stderr), with the output of the
    // default probes on a Debian 12 systemd guest with one failing unit.
    const saved = (name: string, command: string, stdout: string, exitCode: number): string =>
      renderProbeFile(
        { name, command, required: false, timeoutSeconds: 60 },
        { exitCode, stdout, stderr: '', timedOut: false },
        1234
      )
    const degraded = {
      'probes/system-state.txt': saved(
        'system-state',
        'systemctl is-system-running',
        'degraded\ndegraded\n',
        1
      ),
      'probes/failed-units.txt': saved(
        'failed-units',
        'systemctl list-units --failed --no-pager --plain',
        'UNIT                   LOAD   ACTIVE SUB    DESCRIPTION\n' +
          'boot-image-vm-broken.service loaded failed failed Deliberately broken\n\n' +
          'LOAD   = Reflects whether the unit definition was properly loaded.\n\n' +
          '1 loaded units listed.\n',
        0
      )
    }
    const report = passedReport()
    report.vm!.probes = [
      probe('system-state', { required: false, exitCode: 1 }),
      probe('failed-units', { required: false })
    ]
    const first = recorder()
    annotate(report, first.log, files(degraded))
    expect(first.said.map(s => s.message)).toEqual([
      "systemctl is-system-running says 'degraded', not 'running'.",
      'Failed units on the guest: boot-image-vm-broken.service. See probes/failed-units.txt.'
    ])

    const healthy = {
      'probes/system-state.txt': saved(
        'system-state',
        'systemctl is-system-running',
        'running\nrunning\n',
        0
      ),
      'probes/failed-units.txt': saved(
        'failed-units',
        'systemctl list-units --failed --no-pager --plain',
        'UNIT LOAD ACTIVE SUB DESCRIPTION\n0 loaded units listed.\n',
        0
      )
    }
    report.vm!.probes[0].exitCode = 0
    const second = recorder()
    annotate(report, second.log, files(healthy))
    expect(second.said).toEqual([])
  })

  it('warns about a failed upload and withheld files', () => {
    const { log, said } = recorder()
    const report = passedReport()
    report.upload = { status: 'failed', detail: '503 from the service', withheld: ['env/host.env'] }
    annotate(report, log)
    expect(said.map(s => [s.level, s.title])).toEqual([
      ['warning', 'Upload failed'],
      ['warning', 'Files withheld']
    ])
  })
})

describe('probeStdout', () => {
  it('takes the stdout section of a saved probe file, or the text when it has none', () => {
    const text =
      'probe: x\ncommand: y\nexit code: 0\n\n--- stdout ---\nrunning\n\n--- stderr ---\n\n'
    expect(probeStdout(text).trim()).toBe('running')
    expect(probeStdout('running\n')).toBe('running\n')
  })
})

describe('failedUnits', () => {
  it('reads unit names from systemctl --plain output, with or without bullets', () => {
    const text = '● a.service loaded failed failed A\nb.mount loaded failed failed B\n\n0 loaded'
    expect(failedUnits(text)).toEqual(['a.service', 'b.mount'])
    expect(failedUnits('0 loaded units listed.')).toEqual([])
  })
})
