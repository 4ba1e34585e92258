// The readiness figure of `npm run bench` (scripts/bench.ts): from the console's "sshd listening"
// to SSH ready, and what one SSH handshake costs on a guest that is already up.
import { readFileSync } from 'node:fs'
import { waitForSsh as actionWaitForSsh } from '../../../src/vm/ssh.js'
import { fixtureIso, sshExec, startFixtureVm, waitForSerial } from '../../../tests/helpers/lab.js'
import { timed } from '../processes.js'
import { type Row, say, stats } from '../table.js'
import type { Figure, Handshakes } from '../figure.js'
import { CHEAP_REPS } from '../config.js'
import type { BootSample } from '../boots.js'

/**
 * One fixture guest, booted and idle: the action's readiness check (src/vm/ssh.ts waitForSsh, a
 * fresh ssh2 connection that must run `true`) and one OpenSSH `ssh … true`, interleaved. What
 * "SSH ready" costs once sshd listens, apart from when the attempt starts.
 */
export async function readyGuestHandshakes(reps: number): Promise<Handshakes> {
  const fixture = await fixtureIso()
  const vm = await startFixtureVm(fixture.iso)
  const ssh2: number[] = []
  const ssh2Plain: number[] = []
  const openssh: number[] = []
  try {
    await waitForSerial(vm, /boot-image-vm: ready/, 300_000)
    const privateKey = readFileSync(fixture.privateKeyPath, 'utf8')
    const viaSsh2 = async (): Promise<void> => {
      const started = performance.now()
      const ready = await actionWaitForSsh({
        port: vm.port,
        privateKey,
        deadline: Date.now() + 30_000,
        abort: new Promise<string>(() => {})
      })
      ssh2.push(performance.now() - started)
      ready.client.close()
    }
    const viaSsh2Plain = async (): Promise<void> => {
      const started = performance.now()
      const result = await sshExec(vm.port, fixture.privateKeyPath, 'true', 10_000)
      if (result.code === 0) ssh2Plain.push(performance.now() - started)
    }
    const viaOpenssh = async (): Promise<void> => {
      const run = await timed('ssh', [
        ...['-i', fixture.privateKeyPath, '-p', String(vm.port)],
        ...['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'],
        ...['-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=5'],
        'root@127.0.0.1',
        'true'
      ])
      if (run.code === 0) openssh.push(run.durationMs)
    }
    // Each once to warm up (the guest's first connections page dropbear in), then the samples.
    const arms = [viaSsh2, viaSsh2Plain, viaOpenssh]
    for (const measure of arms) await measure()
    for (const samples of [ssh2, ssh2Plain, openssh]) samples.length = 0
    for (let i = 0; i < reps; i++) {
      for (let k = 0; k < arms.length; k++) await arms[(i + k) % arms.length]()
    }
  } finally {
    await vm.stop()
  }
  return { ssh2, ssh2Plain, openssh }
}

export const readiness: Figure = {
  name: 'readiness',
  units: [['action'], ['action-kvm-off'], ['bare']],
  async before(data) {
    say(`ready guest: ${CHEAP_REPS} × (the action's check, one ssh2 client, OpenSSH) …`)
    data.handshakes = await readyGuestHandshakes(CHEAP_REPS)
    const med = (v: number[]): string => `${Math.round(stats(v)?.median ?? NaN)} ms`
    const h = data.handshakes
    say(
      `ready guest: action check ${med(h.ssh2)}, ssh2 ${med(h.ssh2Plain)}, ` +
        `OpenSSH ${med(h.openssh)}`
    )
  },
  rows({ samples, of, handshakes }) {
    const rows: Row[] = []
    const actionRuns = samples.filter(s => s.ok && s.variant !== 'bare')
    const latency = (s: BootSample): number[] =>
      s.readySeconds !== undefined && s.sshdSeconds !== undefined
        ? [(s.readySeconds - s.sshdSeconds) * 1000]
        : []
    const latencies = actionRuns.flatMap(latency)
    rows.push({
      figure: 'readiness: "sshd listening" → SSH ready',
      unit: 'ms',
      stats: stats(latencies),
      target: { max: 300, text: '< 300 ms' },
      notMeasured: 'no passing action run with both timestamps'
    })
    rows.push({
      figure: '  action: QEMU start → SSH ready',
      unit: 's',
      stats: stats(actionRuns.flatMap(s => (s.readySeconds !== undefined ? [s.readySeconds] : [])))
    })
    rows.push({
      figure: '  bare: "sshd listening" → SSH ready (polling)',
      unit: 'ms',
      stats: stats(of('bare').flatMap(latency))
    })
    rows.push({
      figure: "  ready guest: the action's SSH check (ssh2)",
      unit: 'ms',
      stats: stats(handshakes.ssh2)
    })
    rows.push({
      figure: '  ready guest: one ssh2 client running `true` (Nagle on)',
      unit: 'ms',
      stats: stats(handshakes.ssh2Plain)
    })
    rows.push({
      figure: '  ready guest: one OpenSSH `ssh … true`',
      unit: 'ms',
      stats: stats(handshakes.openssh)
    })
    rows.push({
      figure: '  bare: QEMU start → SSH ready',
      unit: 's',
      stats: stats(of('bare').flatMap(s => (s.readySeconds !== undefined ? [s.readySeconds] : [])))
    })
    return rows
  }
}
