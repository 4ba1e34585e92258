// The qemu stage's line in the stage table: where QEMU came from, or why none could.
import type { QemuProvision, StageRecord } from '../model/index.js'
import { describeProvision } from './plan.js'

export function judgeQemu(provision: QemuProvision): StageRecord {
  const spent = provision.attempts.reduce((sum, a) => sum + a.durationMs, 0)
  const status =
    provision.status === 'ready' ? 'passed' : provision.status === 'failed' ? 'failed' : 'skipped'
  return { status, durationMs: spent, detail: describeProvision(provision) }
}
