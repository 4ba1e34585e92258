// junit.xml: the run as JUnit XML, for test-report actions and GitHub's test views. One testsuite
// for the run; a testcase per stage, per probe and for the test command; a failure carries the
// message and where the log is in the artifact. Text from the world (Nix, the guest, probe
// output) is escaped, stripped of what XML 1.0 forbids, and capped. Pure but for writeJunitFile.
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ProbeResult, Report, StageName, StageRecord, TestResult } from '../model/index.js'
import { stripControl, tailBytes } from './markdown.js'
import { STAGES } from './summary-sections.js'

export const JUNIT_FILE = 'junit.xml'
export const JUNIT_LIMITS = { message: 1000, body: 16 * 1024, outputTail: 8 * 1024 }

/** Reads a report-relative file (a probe's, the test's); undefined when it cannot. */
export type ReadReportFile = (file: string) => string | undefined

// Characters XML 1.0 allows: tab, newline, carriage return, and U+0020–U+D7FF, U+E000–U+FFFD,
// U+10000–U+10FFFF. Lone surrogates fall outside every range and go too.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

/** Text for an XML attribute or element: no forbidden characters, markup escaped, capped. */
export function xmlText(text: string, maxChars: number): string {
  const clean = stripControl(text).replace(NOT_XML, '')
  const short = clean.length > maxChars ? clean.slice(0, maxChars - 1) + '…' : clean
  return short
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;')
}

interface Case {
  classname: string
  name: string
  seconds: number
  failure?: { type: string; message: string; body: string }
  skipped?: string
}

const seconds = (ms: number | undefined): number =>
  ms !== undefined && Number.isFinite(ms) && ms > 0 ? Math.round(ms) / 1000 : 0

/** Where each stage's log is, in the report directory (the artifact). */
function stageLogs(name: StageName, report: Report): string[] {
  if (name === 'build') {
    const failed = report.builds.flatMap(b => b.failures.map(f => f.log))
    return failed.length ? failed : ['build/build.log']
  }
  const where: Partial<Record<StageName, string[]>> = {
    setup: ['setup/'],
    'env-diff': ['env/diff.md'],
    boot: ['vm/serial.log', 'vm/qemu.log'],
    probes: ['probes/'],
    test: ['test/output.log']
  }
  return where[name] ?? ['report.json']
}

function stageCase(name: StageName, record: StageRecord, report: Report): Case {
  const base = { classname: 'boot-image-vm.stage', name, seconds: seconds(record.durationMs) }
  if (record.status === 'skipped') return { ...base, skipped: record.detail }
  if (record.status !== 'failed') return base
  const logs = stageLogs(name, report)
  return {
    ...base,
    failure: {
      type: report.decidedBy === name ? report.result : 'failed',
      message: record.detail,
      body: `${record.detail}\n\nLogs in the report (artifact): ${logs.join(', ')}`
    }
  }
}

function outputCase(
  classname: string,
  name: string,
  result: Pick<ProbeResult, 'exitCode' | 'timedOut' | 'durationMs' | 'file'> & {
    missing?: boolean
  },
  counts: boolean,
  read: ReadReportFile
): Case {
  const base = { classname, name, seconds: seconds(result.durationMs) }
  const passed = result.exitCode === 0 && !result.timedOut && !result.missing
  if (passed) return base
  const what = result.timedOut
    ? 'timed out'
    : result.missing
      ? 'command not found on the guest'
      : `exit code ${result.exitCode ?? 'none (killed by a signal)'}`
  if (!counts) return { ...base, skipped: `optional: ${what}` }
  const output = read(result.file)
  const tail = output === undefined ? '' : `\n\n${tailBytes(output, JUNIT_LIMITS.outputTail)}`
  return {
    ...base,
    failure: {
      type: what.startsWith('exit code') ? 'exit-code' : what.split(' ')[0],
      message: `${name}: ${what}`,
      body: `${name}: ${what}. Output in the report (artifact): ${result.file}${tail}`
    }
  }
}

function casesOf(report: Report, read: ReadReportFile): Case[] {
  const cases = STAGES.flatMap(name => {
    const record = report.stages[name]
    return record ? [stageCase(name, record, report)] : []
  })
  for (const probe of report.vm?.probes ?? []) {
    cases.push(outputCase('boot-image-vm.probe', probe.name, probe, probe.required, read))
  }
  const test: TestResult | undefined = report.vm?.test
  if (test) cases.push(outputCase('boot-image-vm.test', 'test command', test, true, read))
  return cases
}

function caseXml(c: Case): string {
  const open = `    <testcase classname="${c.classname}" name="${xmlText(c.name, 200)}" time="${c.seconds}"`
  if (c.failure) {
    const { type, message, body } = c.failure
    return (
      `${open}>\n      <failure type="${xmlText(type, 100)}" message="${xmlText(message, JUNIT_LIMITS.message)}">` +
      `${xmlText(body, JUNIT_LIMITS.body)}</failure>\n    </testcase>`
    )
  }
  if (c.skipped !== undefined)
    return `${open}>\n      <skipped message="${xmlText(c.skipped, JUNIT_LIMITS.message)}"/>\n    </testcase>`
  return `${open}/>`
}

/** The run as JUnit XML. suiteName: e.g. the image ("boot-image-vm: .#bootImage"). */
export function junitXml(
  report: Report,
  read: ReadReportFile,
  suiteName = 'boot-image-vm'
): string {
  const cases = casesOf(report, read)
  const failures = cases.filter(c => c.failure).length
  const skipped = cases.filter(c => c.skipped !== undefined).length
  const total = Math.round(cases.reduce((sum, c) => sum + c.seconds, 0) * 1000) / 1000
  const counts = `tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${total}"`
  const stamp = xmlText(report.startedAt || '', 40)
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="boot-image-vm" ${counts}>`,
    `  <testsuite name="${xmlText(suiteName, 300)}" ${counts} timestamp="${stamp}">`,
    ...cases.map(caseXml),
    '  </testsuite>',
    '</testsuites>',
    ''
  ].join('\n')
}

/** junit.xml in the report directory, written whole or not at all. */
export function writeJunitFile(reportDir: string, report: Report, read: ReadReportFile): string {
  const path = join(reportDir, JUNIT_FILE)
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, junitXml(report, read), { mode: 0o644 })
  renameSync(temporary, path)
  return path
}
