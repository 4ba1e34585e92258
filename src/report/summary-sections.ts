// One renderer per part of the summary. Each returns a complete, balanced piece of markdown (every
// fence and <details> closed) with its own size caps, so the summary can drop whole pieces to fit.
import type {
  BuildResult,
  EnvDiffResult,
  FailedDerivation,
  GuestPlatform,
  ProbeResult,
  Report,
  StageName,
  StageStatus
} from '../model/index.js'
import {
  clipTail,
  codeCell,
  details,
  escapeCell,
  escapeHtml,
  fence,
  formatDuration,
  table
} from './markdown.js'
import { buildPlacesBlock } from './build-places-section.js'

export { cacheSaveLine, cacheSection } from './cache-section.js'

export const STAGES: readonly StageName[] = [
  'setup',
  'qemu',
  'build',
  'env-diff',
  'boot',
  'probes',
  'test',
  'upload'
]

export const LIMITS = {
  tailLines: 80,
  tailBytes: 24 * 1024,
  errorLines: 60,
  errorBytes: 16 * 1024,
  derivationsWithLog: 10,
  derivationRows: 50,
  dependents: 20,
  verdicts: 10,
  differences: 15,
  probes: 150,
  screenshots: 20,
  withheld: 50
}

const STATUS_EMOJI: Record<StageStatus, string> = {
  passed: '✅',
  failed: '❌',
  warning: '⚠️',
  skipped: '⏭️'
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`

/** A note that says what a cap left out and where the rest is. */
const more = (left: number, what: string, where: string): string =>
  left > 0 ? `\n\n_… and ${plural(left, what)} more (see ${where} in the artifact)._` : ''

/** Up to `limit` items as code, comma-separated, and a note of how many more are elsewhere. */
const codeList = (items: string[], limit: number, what: string, where: string): string =>
  items
    .slice(0, limit)
    .map(item => codeCell(item))
    .join(', ') + more(items.length - Math.min(items.length, limit), what, where)

/** Text from Nix or a stage (an error), clipped to its end, in a fence. */
export function errorBlock(text: string, where = 'report.json'): string {
  const clipped = clipTail(text.split('\n'), {
    maxLines: LIMITS.errorLines,
    maxBytes: LIMITS.errorBytes
  })
  const note = clipped.cut ? `\n\n_Cut ${clipped.cut}; the full text is in ${where}._` : ''
  return fence(clipped.text) + note
}

export function stageTable(report: Report): string {
  const rows = STAGES.map(name => {
    const stage = report.stages[name]
    if (!stage) return [name, '⏭️ not run', '', '']
    return [
      name,
      `${STATUS_EMOJI[stage.status]} ${stage.status}`,
      formatDuration(stage.durationMs),
      escapeCell(stage.detail)
    ]
  })
  return '### Stages\n\n' + table(['Stage', 'Status', 'Duration', 'Detail'], rows)
}

/** One failing derivation: what failed, why, the end of its log, where the whole log is. */
export function derivationBlock(failure: FailedDerivation, open: boolean): string {
  const clipped = clipTail(failure.tail, {
    maxLines: LIMITS.tailLines,
    maxBytes: LIMITS.tailBytes
  })
  const exit =
    failure.exitCode === null || /exit code/.test(failure.reason)
      ? ''
      : ` (exit code ${failure.exitCode})`
  const cut = clipped.cut ? ` Cut ${clipped.cut} from this tail.` : ''
  // 'local': what src/build/build-places.ts names the machine that ran nix build.
  const remote = failure.machine && failure.machine !== 'local' ? failure.machine : undefined
  const where = remote ? ` Failed on ${codeCell(remote)}.` : ''
  const body = [
    `${codeCell(failure.drv)}: ${escapeCell(failure.reason)}${exit}.${where}`,
    clipped.text ? fence(clipped.text, 'log') : '_The log is empty._',
    `_Full log: ${codeCell(failure.log)} in the artifact.${cut}_`
  ].join('\n\n')
  const on = remote ? ` (failed on ${remote})` : ''
  return details(`❌ ${failure.name}: ${failure.reason}${on}`, body, open)
}

export function buildSection(build: BuildResult, titled: boolean, openFirst = true): string {
  const title = titled ? `### Build (${build.context})` : '### Build'
  const lines = [title, `**${build.status}** in ${formatDuration(build.durationMs)}.`]
  const paths: string[] = []
  if (build.drvPath) paths.push(`- Derivation: ${codeCell(build.drvPath)}`)
  if (build.outPath) paths.push(`- Output: ${codeCell(build.outPath)}`)
  if (build.isoPath) paths.push(`- ISO: ${codeCell(build.isoPath)}`)
  if (paths.length) lines.push(paths.join('\n'))
  const where = buildPlacesBlock(build)
  if (where) lines.push(where)
  if (build.error) lines.push(errorBlock(build.error, 'build/build.log'))
  const failures = build.failures
  if (failures.length) {
    const own = failures.length === 1 ? 'its own builder' : 'their own builders'
    lines.push(`${plural(failures.length, 'derivation')} failed in ${own}:`)
    failures
      .slice(0, LIMITS.derivationsWithLog)
      .forEach((failure, index) => lines.push(derivationBlock(failure, openFirst && index === 0)))
    const rest = failures.slice(LIMITS.derivationsWithLog)
    if (rest.length) {
      const rows = rest
        .slice(0, LIMITS.derivationRows)
        .map(f => [escapeCell(f.name), escapeCell(f.reason), codeCell(f.log)])
      lines.push(
        table(['Derivation', 'Reason', 'Log'], rows) +
          more(rest.length - rows.length, 'failed derivation', 'build/failed/')
      )
    }
  }
  if (build.dependents.length) {
    const shown = build.dependents.slice(0, LIMITS.dependents)
    const list = shown.map(drv => `- ${codeCell(drv)}`).join('\n')
    lines.push(
      details(
        `${plural(build.dependents.length, 'dependent')} failed only because of these`,
        list
      ) + more(build.dependents.length - shown.length, 'dependent', 'report.json')
    )
  }
  return lines.join('\n\n')
}

export function envDiffSection(diff: EnvDiffResult, heading = '### Environment diff'): string {
  const lines = [heading]
  if (diff.error) lines.push(`The diff did not complete: ${escapeCell(diff.error)}`)
  const verdicts = diff.verdicts.slice(0, LIMITS.verdicts)
  if (verdicts.length) lines.push(verdicts.map(v => `- ${escapeCell(v, 1000)}`).join('\n'))
  const order = { high: 0, medium: 1, low: 2 }
  const likely = [...diff.differences].sort((a, b) => order[a.likelihood] - order[b.likelihood])
  const shown = likely.slice(0, LIMITS.differences)
  if (shown.length) {
    const rows = shown.map(d => [
      codeCell(d.name),
      d.kind,
      d.likelihood,
      codeCell(d.host ?? '', 120),
      codeCell(d.devshell ?? '', 120),
      escapeCell(d.reason)
    ])
    const header = ['Variable', 'Change', 'Likelihood', 'Host', 'Devshell', 'Why it matters']
    lines.push(
      table(header, rows) + more(likely.length - shown.length, 'difference', 'env/diff.md')
    )
  }
  lines.push('_The whole comparison: `env/diff.md` (and `env/diff.json`) in the artifact._')
  return lines.join('\n\n')
}

/** The guest's architecture, where it was read, and what emulating it costs. */
function guestFact(guest: GuestPlatform): string {
  const emulated = guest.emulated
    ? `; emulated on ${guest.host ? `an ${guest.host}` : 'this'} host: expect ~10× slower`
    : ''
  return `- Guest: **${guest.arch}** (${escapeCell(guest.evidence)})${emulated}`
}

export function bootSection(report: Report): string {
  const boot = report.vm?.boot
  if (!boot) return ''
  const lines = ['### Boot']
  const facts: string[] = [`- Status: **${boot.status}**`]
  if (boot.accel) facts.push(`- Accelerator: **${boot.accel}**`)
  if (boot.guest) facts.push(guestFact(boot.guest))
  if (boot.kvmCheck) {
    const verdict = boot.kvmCheck.runsGuest ? 'KVM runs a guest' : 'KVM cannot run a guest'
    const reason = boot.kvmCheck.reason ? `: ${escapeCell(boot.kvmCheck.reason)}` : ''
    facts.push(`- KVM check: ${verdict}${reason} (${formatDuration(boot.kvmCheck.durationMs)})`)
  }
  if (boot.bootSeconds !== undefined) facts.push(`- Ready after ${boot.bootSeconds.toFixed(1)} s`)
  if (boot.hostKeyFingerprint) facts.push(`- SSH host key: ${codeCell(boot.hostKeyFingerprint)}`)
  if (boot.consoleHostKeyFingerprint && boot.consoleHostKeyFingerprint !== boot.hostKeyFingerprint)
    facts.push(`- Host key printed on the console: ${codeCell(boot.consoleHostKeyFingerprint)}`)
  lines.push(facts.join('\n'))
  if (boot.error) lines.push(`**Error:** ${escapeCell(boot.error, 1000)}`)
  const quoted = boot.consoleFailure?.excerpt ?? boot.panic
  if (quoted) lines.push('The console said, before the boot ended:\n\n' + fence(quoted))
  if (boot.timeline.length) {
    const rows = boot.timeline.map(m => [
      m.label ? `${m.name} (${escapeCell(m.label, 40)})` : m.name,
      m.seconds.toFixed(1),
      m.line ? codeCell(m.line, 160) : ''
    ])
    lines.push(table(['Milestone', 'Seconds', 'Console line'], rows))
  }
  if (boot.screenshots.length) {
    lines.push(
      'Screenshots: ' + codeList(boot.screenshots, LIMITS.screenshots, 'screenshot', 'vm/')
    )
  }
  lines.push('_Console: `vm/serial.log`; QEMU: `vm/qemu.log`, `vm/qemu-args.txt`._')
  return lines.join('\n\n')
}

export function probeFailed(probe: ProbeResult): boolean {
  return probe.exitCode !== 0 || probe.timedOut || probe.missing
}

function probeOutcome(probe: ProbeResult): string {
  if (probe.timedOut) return '⏱️ timed out'
  if (probe.missing) return '❓ command missing'
  if (probe.exitCode === 0) return '✅ 0'
  const code = probe.exitCode === null ? (probe.signal ?? 'no exit code') : String(probe.exitCode)
  return `${probe.required ? '❌' : '⚠️'} ${escapeCell(code)}`
}

export function probesSection(probes: ProbeResult[]): string {
  if (!probes.length) return ''
  // Failures first, so a cap never hides the probe that failed the run.
  const ordered = [
    ...probes.filter(p => p.required && probeFailed(p)),
    ...probes.filter(p => !(p.required && probeFailed(p)))
  ]
  const shown = ordered.slice(0, LIMITS.probes)
  const rows = shown.map(p => [
    escapeCell(p.name, 80),
    p.required ? 'yes' : 'no',
    probeOutcome(p),
    formatDuration(p.durationMs),
    codeCell(p.file)
  ])
  const failed = probes.filter(p => p.required && probeFailed(p)).length
  const head = `### Probes\n\n${probes.length - failed} of ${probes.length} passed or optional; ${failed} required failed.`
  return (
    head +
    '\n\n' +
    table(['Probe', 'Required', 'Exit code', 'Duration', 'Output'], rows) +
    more(probes.length - shown.length, 'probe', 'probes/')
  )
}

export function testSection(report: Report): string {
  const test = report.vm?.test
  if (!test) return ''
  const outcome = test.timedOut
    ? '⏱️ timed out'
    : test.exitCode === 0
      ? '✅ exit code 0'
      : `❌ exit code ${test.exitCode ?? 'none'}`
  return `### Test\n\n${outcome} after ${formatDuration(test.durationMs)}. Output: ${codeCell(test.file)}.`
}

export function uploadSection(report: Report): string {
  const upload = report.upload
  if (!upload) return ''
  const lines = ['### Upload', `**${upload.status}**: ${escapeCell(upload.detail, 1000)}`]
  if (upload.artifactUrl) {
    const id = upload.artifactId === undefined ? '' : ` (ID ${upload.artifactId})`
    lines.push(`Artifact: <a href="${escapeHtml(upload.artifactUrl)}">download</a>${id}`)
  }
  if (upload.withheld.length) {
    lines.push(
      'Withheld because they held a secret: ' +
        codeList(upload.withheld, LIMITS.withheld, 'file', 'report.json')
    )
  }
  return lines.join('\n\n')
}
