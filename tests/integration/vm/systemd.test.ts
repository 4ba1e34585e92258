// The default probes on a real systemd guest: runVm boots the systemdImage fixture (Debian with
// systemd, openssh-server, networkd and resolved, from `scripts/setup-lab.sh --systemd`) under TCG
// and runs parseProbes(DEFAULT_PROBES) exactly as the action does when `probes` is not set.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { DEFAULT_PROBES, parseProbes } from '../../../src/inputs/index.js'
import { consoleLog } from '../../../src/shared/log.js'
import type { Report } from '../../../src/model/index.js'
import { annotate, probeOutputReader, probeStdout } from '../../../src/report/annotations.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { qemuBinary } from '../../../src/vm/platform.js'
import { runVm } from '../../../src/vm/stage.js'
import { fixtureIso } from '../../helpers/lab.js'

const root = mkdtempSync(join(tmpdir(), 'biv-vm-systemd-'))
const pids: number[] = []

/** QEMU processes whose command line points into this test's temp dir. */
function ourQemus(): string[] {
  const out = spawnSync('pgrep', ['-af', 'qemu-system'], { encoding: 'utf8' }).stdout
  return out.split('\n').filter(line => line.includes(root))
}

afterAll(() => {
  const left = ourQemus()
  for (const line of left) process.kill(Number(line.split(' ')[0]), 'SIGKILL')
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone, as it should be
    }
  }
  rmSync(root, { recursive: true, force: true })
  expect(left).toEqual([])
})

/** The stdout section of a saved probe file. */
function probeOutput(reportDir: string, name: string): string {
  return probeStdout(readFileSync(join(reportDir, 'probes', `${name}.txt`), 'utf8'))
}

describe('the default probes on the systemd fixture', () => {
  it('boots Debian with systemd under TCG and the default probes see a healthy system', async () => {
    const fixture = await fixtureIso('systemdImage')
    const lines: string[] = []
    const warnings: string[] = []
    const ctx: StageContext = {
      log: consoleLog(line => {
        lines.push(line)
        if (line.startsWith('warning:')) warnings.push(line)
      }),
      secrets: new Secrets(),
      reportDir: join(root, 'report'),
      tempDir: join(root, 'tmp'),
      env: process.env,
      signal: new AbortController().signal
    }
    const probes = parseProbes(DEFAULT_PROBES)
    const result = await runVm(
      {
        iso: fixture.iso,
        firmware: 'bios',
        qemu: qemuBinary('x86_64'),
        memoryMiB: 768,
        cpus: 2,
        kvm: 'off',
        bootTimeoutSeconds: 300,
        privateKeyPath: fixture.privateKeyPath,
        probes,
        testCommand: '',
        onQemuStarted: pid => pids.push(pid)
      },
      ctx
    )
    const { boot } = result
    const serial = readFileSync(join(ctx.reportDir, 'vm', 'serial.log'), 'utf8')
    expect(boot.error, serial.slice(-3000)).toBeUndefined()
    expect(boot).toMatchObject({ status: 'passed', accel: 'tcg' })
    // The host key debootstrap generated, printed by the initramfs, is the one SSH saw.
    expect(boot.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(boot.consoleHostKeyFingerprint).toBe(boot.hostKeyFingerprint)
    const timeline = Object.fromEntries(boot.timeline.map(m => [m.name, m]))
    // ('ready' is not required: Debian's serial getty may take the console before systemd prints
    // `Reached target multi-user.target`, and its `login: ` prompt ends with no newline.)
    for (const name of ['kernel', 'init', 'network', 'sshd']) {
      expect(timeline[name], `${name} in ${JSON.stringify(boot.timeline)}`).toBeDefined()
    }
    expect(timeline.sshd.line).toMatch(/Started .*ssh\.service/)
    expect(timeline.kernel.seconds).toBeLessThan(timeline.sshd.seconds)

    // Every default probe ran and exited 0.
    expect(result.probes.map(p => p.name)).toEqual(probes.map(p => p.name))
    for (const probe of result.probes) {
      expect(probe, probe.name).toMatchObject({ exitCode: 0, timedOut: false, missing: false })
    }
    const out = (name: string): string => probeOutput(ctx.reportDir, name)
    const failedUnits = out('failed-units')
    expect(out('system-state').trim().split('\n').pop(), failedUnits).toBe('running')
    expect(failedUnits).toMatch(/^0 loaded units listed\./m)
    const journal = out('journal')
    expect(journal).toMatch(/systemd\[1\]: /)
    expect(journal).toMatch(/sshd\[\d+\]: Server listening on/)
    expect(journal).toMatch(/systemd-networkd\[\d+\]: ens3: DHCPv4 address 10\.0\.2\.15/)
    expect(journal.split('\n').length).toBeGreaterThan(100)
    const addresses = JSON.parse(out('addresses')) as {
      ifname: string
      addr_info: { local: string }[]
    }[]
    const ens3 = addresses.find(a => a.addr_info.some(i => i.local === '10.0.2.15'))
    expect(ens3?.ifname).toMatch(/^(en|eth)/)
    const routes = JSON.parse(out('routes')) as { dst: string; gateway?: string }[]
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.0.2.2' }))
    expect(out('dns')).toMatch(/DNS Servers?: 10\.0\.2\.3/)
    expect(out('listening')).toMatch(/:22\s.*sshd/)
    expect(out('os-release')).toMatch(/^ID=debian$/m)
    expect(out('kernel')).toMatch(/^Linux boot-image-vm \d/)

    // A healthy guest gives the report nothing to warn about.
    const said: string[] = []
    const record = (message: string): void => void said.push(message)
    annotate(
      { vm: result, builds: [] } as unknown as Report,
      {
        info: () => {},
        echo: () => {},
        debug: () => {},
        warning: record,
        error: record,
        group: (_n, fn) => fn()
      },
      probeOutputReader(ctx.reportDir)
    )
    expect(said).toEqual([])
    expect(warnings).toEqual([])

    // Figures for the fixture's README (visible with --reporter=verbose).
    const state = result.probes.find(p => p.name === 'system-state')
    console.log(
      `systemd fixture: SSH after ${boot.bootSeconds} s, system-state probe ${state?.durationMs} ms, ` +
        `timeline ${boot.timeline.map(m => `${m.name}@${m.seconds.toFixed(1)}`).join(' ')}`
    )
    // runVm tore QEMU down before it returned.
    expect(ourQemus()).toEqual([])
  }, 600_000)
})
