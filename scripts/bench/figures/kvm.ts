// The kvm figure of `npm run bench` (scripts/bench.ts): the KVM check's time to its verdict (here:
// KVM cannot run a guest, so TCG).
import { checkKvm } from '../../../src/vm/kvm.js'
import { type Row, stats } from '../table.js'
import type { Figure } from '../figure.js'

export async function kvmCheckSample(): Promise<{
  ms: number
  runsGuest: boolean
  reason: string
}> {
  const started = performance.now()
  const check = await checkKvm({ qemu: 'qemu-system-x86_64' })
  return { ms: performance.now() - started, runsGuest: check.runsGuest, reason: check.reason }
}

export const kvm: Figure = {
  name: 'kvm',
  units: [['action']],
  async cheap(data) {
    const sample = await kvmCheckSample()
    data.kvmSamples.push(sample)
    return `kvm check ${Math.round(sample.ms)} ms`
  },
  rows({ of, kvmSamples }) {
    const rows: Row[] = []
    rows.push({
      figure: 'KVM check → TCG decision (checkKvm)',
      unit: 'ms',
      stats: stats(kvmSamples.filter(s => !s.runsGuest).map(s => s.ms)),
      target: { max: 5000, text: '< 5 s' },
      notMeasured: kvmSamples.some(s => s.runsGuest)
        ? 'KVM runs guests here: there is no fallback to time'
        : 'no samples'
    })
    rows.push({
      figure: '  in the action (report.json kvmCheck)',
      unit: 'ms',
      stats: stats(of('action').flatMap(s => (s.kvmCheckMs !== undefined ? [s.kvmCheckMs] : [])))
    })
    return rows
  }
}
