// The job summary (and summary.md): verdict first, then what explains it, then every stage. Pure:
// a Report in, markdown out, always under GitHub's 1 MiB step-summary limit.
import type { BuildResult, Report } from '../model/index.js'
import { byteLength, escapeCell, fence, headBytes } from './markdown.js'
import {
  bootSection,
  buildSection,
  cacheSection,
  derivationBlock,
  envDiffSection,
  errorBlock,
  probeFailed,
  probesSection,
  stageTable,
  testSection,
  uploadSection
} from './summary-sections.js'
import { comparisonSection } from './comparison-section.js'
import { qemuLines } from './summary-qemu.js'

/** GitHub refuses a step summary larger than this. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024
/** The default budget: 1000 KiB less a margin for what the runner adds. */
export const DEFAULT_SUMMARY_MAX_BYTES = 1000 * 1024 - 8 * 1024

export interface SummaryOptions {
  /** Budget in UTF-8 bytes (default DEFAULT_SUMMARY_MAX_BYTES). */
  maxBytes?: number
}

/** A whole, balanced piece of the summary; higher `drop` goes first when over budget. */
interface Block {
  name: string
  text: string
  drop: number
}

/** The first line: the verdict and the stage that decided it. */
export function headline(report: Report): string {
  if (report.result === 'passed') return `## ✅ passed${report.cancelled ? ' (cancelled)' : ''}`
  const decided = report.decidedBy ? ` — decided by ${report.decidedBy}` : ''
  return `## ❌ ${report.result}${decided}${report.cancelled ? ' (cancelled)' : ''}`
}

/** The host and devshell builds when they disagree, failing one second. */
function disagreement(builds: BuildResult[]): [BuildResult, BuildResult] | undefined {
  const host = builds.find(b => b.context === 'host')
  const devshell = builds.find(b => b.context === 'devshell')
  if (!host || !devshell) return undefined
  if ((host.status === 'passed') === (devshell.status === 'passed')) return undefined
  return host.status === 'passed' ? [host, devshell] : [devshell, host]
}

function contextName(build: BuildResult): string {
  return build.context === 'host' ? 'on the host' : 'in the devshell'
}

/** What decided the verdict, said before anything else. */
function lead(report: Report): string {
  const split = disagreement(report.builds)
  if (split) {
    const [passing, failing] = split
    const parts = [
      `**Passes ${contextName(passing)}, fails ${contextName(failing)}** (${failing.status} in ${failing.context}).`
    ]
    const first = failing.failures[0]
    if (first) parts.push(derivationBlock(first, true))
    else if (failing.error) parts.push(errorBlock(failing.error, 'build/build.log'))
    if (report.envDiff) {
      parts.push(envDiffSection(report.envDiff, '#### What differs between the two contexts'))
    }
    return parts.join('\n\n')
  }
  switch (report.result) {
    case 'setup-failed':
      if (report.decidedBy === 'qemu' && report.qemu?.error) {
        return (
          'No QEMU to boot the image with, so the run stopped before the boot:\n\n' +
          errorBlock(report.qemu.error)
        )
      }
      return report.setup?.error
        ? 'Setting up Nix failed:\n\n' + errorBlock(report.setup.error)
        : ''
    case 'eval-failed': {
      const failed = report.builds.find(b => b.status === 'eval-failed')
      return failed?.error
        ? `Evaluating the image failed (${failed.context}):\n\n` +
            errorBlock(failed.error, 'build/build.log')
        : ''
    }
    case 'build-failed': {
      const names = report.builds.flatMap(b => b.failures.map(f => escapeCell(f.name, 100)))
      return names.length
        ? `Failing derivation${names.length === 1 ? '' : 's'}: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}.`
        : ''
    }
    case 'boot-failed': {
      const boot = report.vm?.boot
      const parts = [boot?.error ? `The image did not boot: ${escapeCell(boot.error, 1000)}` : '']
      const quoted = boot?.consoleFailure?.excerpt ?? boot?.panic
      if (quoted) parts.push(fence(quoted))
      return parts.filter(Boolean).join('\n\n')
    }
    case 'probe-failed': {
      const failed = (report.vm?.probes ?? []).filter(p => p.required && probeFailed(p))
      const names = failed.slice(0, 10).map(p => escapeCell(p.name, 80))
      return `Required probe${failed.length === 1 ? '' : 's'} failed: ${names.join(', ')}${failed.length > 10 ? ', …' : ''}.`
    }
    case 'test-failed': {
      const test = report.vm?.test
      if (!test) return ''
      return test.timedOut
        ? 'The test command timed out.'
        : `The test command exited with code ${test.exitCode ?? 'none'}.`
    }
    default:
      return ''
  }
}

function setupSection(report: Report): string {
  const setup = report.setup
  const qemu = qemuLines(report.qemu)
  if (!setup) return qemu.length ? '### Setup\n\n' + qemu.join('\n') : ''
  const lines: string[] = []
  const nix = setup.nix
  if (nix) {
    lines.push(
      `- Nix: ${escapeCell(nix.version)} (${nix.variant}, ${nix.storeMode}) at \`${nix.nixPath.replace(/`/g, '')}\``
    )
  }
  lines.push(...qemu)
  lines.push(
    `- KVM device: ${setup.kvm.deviceUsable ? 'usable' : 'not usable'} (${escapeCell(setup.kvm.action)})`
  )
  for (const change of setup.changes.slice(0, 20)) lines.push(`- Changed: ${escapeCell(change)}`)
  return '### Setup\n\n' + lines.join('\n')
}

function blocks(report: Report): Block[] {
  const list: Block[] = [{ name: 'headline', text: headline(report), drop: 0 }]
  if (report.complete === false) {
    const note = report.cancelled
      ? '_The run was cancelled before every stage ran; this report is partial._'
      : '_The run did not finish; this report is partial._'
    list.push({ name: 'progress', text: note, drop: 0 })
  }
  if (report.error) {
    const text = 'The action itself failed (a bug):\n\n' + errorBlock(report.error)
    list.push({ name: 'error', text, drop: 2 })
  }
  list.push({ name: 'lead', text: lead(report), drop: 2 })
  list.push({ name: 'stages', text: stageTable(report), drop: 1 })
  list.push({ name: 'comparison', text: comparisonSection(report.comparison), drop: 4 })
  list.push({ name: 'setup', text: setupSection(report), drop: 5 })
  const titled = report.builds.length > 1
  // When the lead already shows the failing log open, the build section keeps it folded.
  const split = disagreement(report.builds) !== undefined
  for (const build of report.builds) {
    const text = buildSection(build, titled, !split)
    list.push({ name: `build (${build.context})`, text, drop: 3 })
  }
  if (report.envDiff && !split) {
    list.push({ name: 'env-diff', text: envDiffSection(report.envDiff), drop: 4 })
  }
  list.push({ name: 'cache', text: cacheSection(report.cache, report.builds), drop: 5 })
  list.push({ name: 'boot', text: bootSection(report), drop: 3 })
  list.push({ name: 'probes', text: probesSection(report.vm?.probes ?? []), drop: 6 })
  list.push({ name: 'test', text: testSection(report), drop: 3 })
  list.push({ name: 'upload', text: uploadSection(report), drop: 3 })
  list.push({
    name: 'footer',
    text: '_Everything above, and the full logs, are in the report artifact: start with `report.json` and `summary.md`._',
    drop: 7
  })
  return list.filter(block => block.text)
}

const SEPARATOR = '\n\n'
const size = (list: Block[]): number =>
  list.reduce((total, block) => total + byteLength(block.text) + SEPARATOR.length, 0)

const omitted = (name: string): string =>
  `_The ${name} section was left out to keep the summary under GitHub's size limit; it is in \`report.json\` in the artifact._`

/** Renders the summary; whole sections give way (with a note) when it would exceed the budget. */
export function renderSummary(report: Report, options: SummaryOptions = {}): string {
  const maxBytes = Math.min(options.maxBytes ?? DEFAULT_SUMMARY_MAX_BYTES, SUMMARY_LIMIT_BYTES)
  let list = blocks(report)
  // Drop whole sections, least important (and latest) first, each replaced by a one-line note.
  const candidates = list
    .map((block, index) => ({ block, index }))
    .filter(({ block }) => block.drop > 0)
    .sort((a, b) => b.block.drop - a.block.drop || b.index - a.index)
  for (const { block } of candidates) {
    if (size(list) <= maxBytes) break
    list = list.map(b => (b === block ? { ...b, text: omitted(block.name), drop: 0 } : b))
  }
  // Still too big (a tiny budget): keep whole blocks from the top while they fit.
  if (size(list) > maxBytes) {
    const kept: Block[] = []
    const note = '_The rest of the summary was cut for size; see `report.json` in the artifact._'
    for (const block of list) {
      if (size([...kept, block]) + byteLength(note) + SEPARATOR.length > maxBytes) break
      kept.push(block)
    }
    if (kept.length === 0) return headBytes(headline(report), maxBytes)
    list = [...kept, { name: 'note', text: note, drop: 0 }]
  }
  return list.map(block => block.text).join(SEPARATOR) + '\n'
}
