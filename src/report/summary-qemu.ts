// The summary's lines about QEMU (part of the setup section): which source gave which version,
// how long the boot waited for it, and why each other source was passed over. Pure.
import type { QemuProvision } from '../model/index.js'
import { codeCell, escapeCell, formatDuration } from './markdown.js'

export function qemuLines(qemu: QemuProvision | undefined): string[] {
  if (!qemu) return []
  const lines: string[] = []
  if (qemu.status === 'ready') {
    const waited =
      qemu.bootWaitedMs && qemu.bootWaitedMs >= 1000
        ? `; the boot waited ${formatDuration(qemu.bootWaitedMs)} for it`
        : ''
    lines.push(
      `- QEMU: ${escapeCell(qemu.version ?? 'version unknown')} from **${qemu.source}** at ` +
        `${codeCell(qemu.binary ?? '')}, ready ${formatDuration(qemu.readyAfterMs)} after the start${waited}`
    )
    if (qemu.ovmf) lines.push(`- OVMF: ${codeCell(qemu.ovmf.code)}, ${codeCell(qemu.ovmf.vars)}`)
  } else {
    const how = qemu.status === 'failed' ? 'no source gave it' : 'stopped: not needed any more'
    lines.push(`- QEMU (input \`qemu: ${qemu.mode}\`): ${how}`)
  }
  for (const attempt of qemu.attempts) {
    if (attempt.source === qemu.source) continue
    lines.push(`  - ${attempt.source}: ${escapeCell(attempt.reason, 600)}`)
  }
  return lines
}
