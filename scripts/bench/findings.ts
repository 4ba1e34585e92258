// Part of `npm run bench` (scripts/bench.ts, the runner): one line per figure that needs
// explaining.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Row, format, stats, verdict } from './table.js'
import type { BootSample } from './boots.js'

/** dist/<entry> and every chunk it imports, directly or not. */
export function bundleBytes(distDir: string, entry = 'index.js'): number {
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file) || !existsSync(file)) return
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(/from\s*"\.\.?\/(?:chunks\/)?([^"]+\.js)"/g)) {
      visit(join(distDir, 'chunks', match[1]))
    }
  }
  visit(join(distDir, entry))
  return [...seen].reduce((sum, file) => sum + readFileSync(file).length, 0)
}

/** One line per figure that needs explaining, from this run's numbers. */
export function findings(
  rows: Row[],
  samples: BootSample[],
  distDir: string,
  kvmSamples: { ms: number; runsGuest: boolean; reason: string }[]
): string[] {
  const find = (prefix: string): Row | undefined => rows.find(r => r.figure.startsWith(prefix))
  const med = (prefix: string): string | undefined => {
    const row = find(prefix)
    return row?.stats ? format(row.stats.median, row.unit) : undefined
  }
  const range = (prefix: string): string | undefined => {
    const row = find(prefix)
    return row?.stats
      ? `${format(row.stats.min, row.unit)}–${format(row.stats.max, row.unit)}`
      : undefined
  }
  const missed = (prefix: string): boolean =>
    verdict(find(prefix) ?? { figure: '', unit: 'ms' }).startsWith('MISSED')
  const notes: string[] = []

  const off = find('overhead: action (kvm off)')
  const medianOf = (values: (number | undefined)[]): string => {
    const st = stats(values.filter((v): v is number => v !== undefined))
    return st ? format(st.median, 'ms') : '—'
  }
  const offRuns = samples.filter(x => x.ok && x.variant === 'action-kvm-off')
  const bareRuns = samples.filter(x => x.ok && x.variant === 'bare')
  const breakdown =
    `Of that: the setup stage (finding and checking Nix) takes ` +
    `${medianOf(offRuns.map(x => x.setupMs))}, the build stage (evaluating the .drv, then ` +
    `\`nix build\`) ${medianOf(offRuns.map(x => x.buildMs))} against the bare script's key and ` +
    `build in ${medianOf(bareRuns.map(x => x.buildMs))} (medians, kvm off).`
  const auto = find('overhead: action (kvm auto)')
  const within = (figure: string): string => {
    const median = find(figure)?.stats?.median
    return median === undefined ? 'not measured' : median <= 1.05 ? 'within' : 'outside'
  }
  if (off?.stats && auto?.stats) {
    notes.push(
      `Overhead: end to end, the median ratio is ${within('overhead: action (kvm auto)')} the 5% ` +
        `budget with kvm auto and ${within('overhead: action (kvm off)')} it with kvm off, but the ` +
        `per-round ratios span ${range('overhead: action (kvm auto)')} and ` +
        `${range('overhead: action (kvm off)')}: the guest's boot under TCG ` +
        (find('  action: QEMU start')?.stats
          ? `(QEMU start → SSH ready ${range('  action: QEMU start')} for the action, ` +
            `${range('  bare: QEMU start') ?? '—'} for the bare script) `
          : '') +
        `varies between back-to-back runs by far more than 5% of a run. With each round's guest ` +
        `boot taken as the bare script's, the ratio is ` +
        `${med('overhead, same guest boot: action (kvm auto)') ?? '—'} (kvm auto) and ` +
        `${med('overhead, same guest boot: action (kvm off)') ?? '—'} (kvm off). Outside the boot ` +
        `wait the action spends ${med('  outside the boot wait: action (kvm off)') ?? '—'} more than ` +
        `the bare script with kvm off and ${med('  outside the boot wait: action (kvm auto)') ?? '—'} ` +
        `more with kvm auto, whose KVM check (${med('KVM check') ?? 'about a second here'}) runs ` +
        `beside the image's build: that is the action's own cost, which weighs more on a machine ` +
        `whose guest boots in seconds. ${breakdown}`
    )
  }
  const latencies = samples.flatMap(x =>
    x.ok && x.variant !== 'bare' && x.readySeconds !== undefined && x.sshdSeconds !== undefined
      ? [(x.readySeconds - x.sshdSeconds) * 1000]
      : []
  )
  const slow = latencies.filter(ms => ms > 1000)
  if (find('readiness')?.stats) {
    notes.push(
      `Readiness${missed('readiness') ? ' (MISSED)' : ''}: on a guest that is already up and idle, ` +
        `the action's SSH check alone takes ${med('  ready guest: the action') ?? '—'} ` +
        `(one plain ssh2 client ${med('  ready guest: one ssh2') ?? '—'}, one OpenSSH ` +
        `${med('  ready guest: one OpenSSH') ?? '—'}). The plain client leaves Nagle's algorithm ` +
        `on, so each of the handshake's small writes waits for the guest's delayed ACK (~40 ms, ` +
        `about ten times); the action's check sets TCP_NODELAY. At boot the guest is also still ` +
        `finishing its init${missed('readiness') ? ', which is where the budget goes' : ''}. The bare script's polling loop ` +
        `measured ${med('  bare: "sshd listening"') ?? '—'} (${range('  bare: "sshd listening"') ?? '—'}) ` +
        `from the same console line. Each action sample is ±50 ms: report.json rounds bootSeconds ` +
        `to 0.1 s.` +
        (slow.length
          ? ` ${slow.length} of ${latencies.length} boots took over 1 s (up to ` +
            `${format(Math.max(...slow), 'ms')}; see the raw samples): a tail the median hides.`
          : '')
    )
  }
  if (find('cold start')?.stats) {
    const bundle = format(bundleBytes(distDir), 'bytes')
    const postBundle = format(bundleBytes(distDir, 'post.js'), 'bytes')
    notes.push(
      `Cold start${missed('cold start') ? ' (MISSED)' : ''}: Node itself starts in ` +
        `${med('  node alone') ?? '—'}; the rest is loading and evaluating the bundle ` +
        `(dist/index.js and the chunks it imports statically, ${bundle}); @actions/artifact and ` +
        `@actions/cache (the Azure storage SDK, undici) load only when first used ` +
        `(src/shared/toolkit.ts). The post step loads ${postBundle} at its start, so the runner pays ` +
        `this twice per job — part of the action's time outside the boot wait above.`
    )
  }
  const failedChecks = kvmSamples.filter(k => !k.runsGuest)
  if (failedChecks.length) {
    const tooSlow = failedChecks.every(k => /did not run it at hardware speed/.test(k.reason))
    notes.push(
      `KVM fallback: "${failedChecks[0].reason}". ` +
        (tooSlow
          ? 'The test guest starts but never finishes under this /dev/kvm: the check decides ' +
            "when the started guest's loop overruns its 1 s budget (hardware takes ~50 ms, TCG " +
            '~200 ms), not at the 3 s limit for starting it.'
          : 'QEMU reports the failure before the 3 s limit.')
    )
  }
  return notes
}
