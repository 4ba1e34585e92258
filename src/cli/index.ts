#!/usr/bin/env node
// `boot-image-vm`: the same pipeline outside Actions. Flags mirror the inputs; the report goes to
// a directory; nothing is uploaded; the exit code says the result.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { INPUT_DEFAULTS, parseInputs, type InputName, type Inputs } from '../inputs/index.js'
import { consoleLog, type Log } from '../shared/log.js'
import { cleanupSetup } from '../setup/index.js'
import { runPipeline } from '../pipeline/index.js'
import { errorMessage, signalChildren } from '../shared/process.js'
import type { Report } from '../model/index.js'
import {
  withHistory,
  type Baseline,
  currentBaseline,
  readBaselineFile,
  writeBaselineFile,
  writeBootHistory,
  compareWithBaseline,
  EXIT_CODES,
  exitCodeFor,
  writeReportFiles,
  renderSummary,
  composeImage,
  writeChangesFiles
} from '../report/index.js'
import { Secrets } from '../shared/secrets.js'

const INPUT_NAMES = Object.keys(INPUT_DEFAULTS) as InputName[]
/** The exit code of a run that passed but has regressions, with --fail-on-regression true. */
export const REGRESSION_EXIT_CODE = 8

export function usage(): string {
  const width = Math.max(...INPUT_NAMES.map(name => name.length)) + 4
  const lines = INPUT_NAMES.map(name => {
    const fallback = INPUT_DEFAULTS[name] === '' ? '(empty)' : INPUT_DEFAULTS[name]
    return `  --${name.padEnd(width)}default: ${fallback}`
  })
  return [
    'Usage: boot-image-vm [flags]',
    '',
    'Builds a boot image with Nix, boots it in QEMU, SSHes in and probes it; writes a report directory.',
    'Flags mirror the action inputs (see README):',
    ...lines,
    `  --${'report-dir'.padEnd(width)}default: ./boot-image-vm-report (an earlier report there is replaced)`,
    `  --${'baseline'.padEnd(width)}a baseline.json (from an earlier passing run's report) to compare with`,
    `  ${''.padEnd(width + 2)}(a passing run always writes <report-dir>/baseline.json)`,
    `  --${'help'.padEnd(width)}this text`,
    '',
    'Exit codes: ' +
      Object.entries(EXIT_CODES)
        .map(([result, code]) => `${code} ${result}`)
        .join(', ') +
      `, ${REGRESSION_EXIT_CODE} passed with regressions (--fail-on-regression true)`
  ].join('\n')
}

/** Empties a previous report; refuses a directory that holds anything else. */
function prepareReportDir(dir: string): void {
  const entries = existsSync(dir) ? readdirSync(dir) : []
  if (entries.length && !entries.includes('report.json')) {
    throw new Error(
      `--report-dir ${dir} is not empty and holds no earlier report; name a new or empty directory.`
    )
  }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
}

export async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv)
  if (typeof flags === 'number') return flags
  const log = consoleLog()
  const prepared = prepareRun(flags, log)
  if (typeof prepared === 'number') return prepared
  const { inputs, reportDir, baseline, baselinePath } = prepared
  const tempDir = mkdtempSync(join(tmpdir(), 'boot-image-vm-'))
  const secrets = new Secrets()
  secrets.addFromEnvironment(process.env)
  secrets.add(inputs.githubToken)
  const signal = cancelOnSignals()
  let cleanupPaths: string[] = []
  try {
    const report = await runPipeline(
      inputs,
      { log, secrets, reportDir, tempDir, env: process.env, signal },
      { onCleanupPaths: paths => (cleanupPaths = paths) }
    )
    await compareRun(report, reportDir, inputs, baseline, baselinePath)
    printVerdict(report, reportDir)
    const regressed = inputs.failOnRegression && (report.comparison?.regressions.length ?? 0) > 0
    return report.result === 'passed' && regressed
      ? REGRESSION_EXIT_CODE
      : exitCodeFor(report.result)
  } finally {
    cleanupSetup(cleanupPaths)
    rmSync(tempDir, { recursive: true, force: true })
  }
}

/** The flags' values, or the exit code when there is nothing to run (--help, a flag unknown). */
function parseFlags(argv: string[]): Record<string, unknown> | number {
  const options = Object.fromEntries([
    ...INPUT_NAMES.map(name => [name, { type: 'string' as const }]),
    ['report-dir', { type: 'string' as const }],
    ['baseline', { type: 'string' as const }],
    ['help', { type: 'boolean' as const, short: 'h' }]
  ])
  let values: Record<string, unknown>
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values as Record<
      string,
      unknown
    >
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n\n${usage()}\n`)
    return 1
  }
  if (values.help) {
    process.stdout.write(usage() + '\n')
    return 0
  }
  return values
}

interface PreparedRun {
  inputs: Inputs
  reportDir: string
  baseline?: Baseline
  baselinePath?: string
}

/** The inputs, the baseline and an emptied report directory, or the exit code of what is wrong. */
function prepareRun(values: Record<string, unknown>, log: Log): PreparedRun | number {
  let inputs: Inputs
  try {
    inputs = parseInputs(name => {
      const value = values[name]
      return typeof value === 'string' ? value : INPUT_DEFAULTS[name]
    })
  } catch (error) {
    log.error(errorMessage(error))
    return EXIT_CODES['setup-failed']
  }
  const reportDir = resolve(
    typeof values['report-dir'] === 'string' ? values['report-dir'] : 'boot-image-vm-report'
  )
  // Read first: the baseline may be the one in the report directory about to be replaced.
  let baseline: Baseline | undefined
  const baselinePath = typeof values.baseline === 'string' ? resolve(values.baseline) : undefined
  try {
    if (baselinePath && inputs.compare !== 'off') baseline = readBaselineFile(baselinePath)
  } catch (error) {
    log.error(`--baseline: ${errorMessage(error)}`)
    return EXIT_CODES['setup-failed']
  }
  try {
    prepareReportDir(reportDir)
  } catch (error) {
    log.error(errorMessage(error))
    return EXIT_CODES['internal-error']
  }
  return { inputs, reportDir, baseline, baselinePath }
}

/** Ctrl-C or a TERM stops the current stage; the report is still written. */
function cancelOnSignals(): AbortSignal {
  const cancel = new AbortController()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      // Each run() ends its own child on the abort; a second signal is the last resort.
      if (cancel.signal.aborted) signalChildren('SIGKILL')
      cancel.abort()
    })
  }
  return cancel.signal
}

/** The summary's head (the verdict and the stage table; the rest is in summary.md) on stdout. */
function printVerdict(report: Report, reportDir: string): void {
  const lines = renderSummary(report).split('\n')
  const secondSection = lines.findIndex(
    (line, index) =>
      index > 0 && line.startsWith('### ') && lines.slice(0, index).some(l => l.startsWith('### '))
  )
  const firstLines = lines
    .slice(0, secondSection > 0 ? secondSection : 12)
    .join('\n')
    .trimEnd()
  const compared = report.comparison ? `compared: ${report.comparison.detail}\n` : ''
  const sentence = report.comparison?.imageChanges?.sentence
  const changes = sentence ? `changes: ${sentence} (${reportDir}/changes.md)\n` : ''
  process.stdout.write(
    `${firstLines}\n\nresult: ${report.result}\n${compared}${changes}report: ${reportDir}\n`
  )
}

/** baseline.json for a passing run; the comparison with --baseline; the report rewritten. */
async function compareRun(
  report: Report,
  reportDir: string,
  inputs: Inputs,
  baseline: Baseline | undefined,
  baselinePath: string | undefined
): Promise<void> {
  const current = await currentBaseline(report, reportDir, {
    flake: inputs.flake,
    attribute: inputs.image,
    firmware: inputs.firmware,
    run: 'boot-image-vm command line',
    composition:
      inputs.compare === 'off'
        ? undefined
        : await composeImage(report, { flake: inputs.flake, env: process.env })
  })
  // The new baseline carries the window of recent runs from --baseline, this run added.
  if (report.result === 'passed' && !report.error) {
    writeBaselineFile(reportDir, withHistory(current, baseline))
  }
  if (!baseline) return
  report.comparison = compareWithBaseline(baseline, current, {
    slowdownThresholdPercent: inputs.slowdownThresholdPercent,
    source: baselinePath
  })
  writeBootHistory(reportDir, report.comparison)
  writeChangesFiles(reportDir, report.comparison.imageChanges)
  writeReportFiles(reportDir, report, renderSummary(report))
}

process.exitCode = await main(process.argv.slice(2))
