// Writes report.json (pretty, keys in a stable order) and summary.md into the report directory.
// Each file is written to a temporary name and renamed, so a reader never sees half a file.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Report } from '../model/index.js'
import { probeOutputReader } from './annotations.js'
import { writeJunitFile } from './junit.js'
import { STAGES } from './summary-sections.js'

/** report.json's top-level keys in reading order; nested objects list their keys alphabetically. */
const REPORT_KEYS: readonly string[] = [
  'schemaVersion',
  'result',
  'decidedBy',
  'complete',
  'cancelled',
  'error',
  'startedAt',
  'finishedAt',
  'stages',
  'setup',
  'qemu',
  'builds',
  'envDiff',
  'vm',
  'cache',
  'upload'
]

function rank(order: readonly string[], key: string): number {
  const index = order.indexOf(key)
  return index === -1 ? order.length : index
}

function ordered(value: unknown, order: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map(item => ordered(item))
  if (value === null || typeof value !== 'object') return value
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => rank(order, a) - rank(order, b) || (a < b ? -1 : a > b ? 1 : 0))
  const out: Record<string, unknown> = {}
  for (const [key, v] of entries) out[key] = ordered(v, key === 'stages' ? STAGES : [])
  return out
}

/** report.json's text: two-space indentation, stable key order, a final newline. */
export function reportJson(report: Report): string {
  return JSON.stringify(ordered(report, REPORT_KEYS), null, 2) + '\n'
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, text, { mode: 0o644 })
  renameSync(temporary, path)
}

export function writeReportFiles(reportDir: string, report: Report, summary: string): void {
  mkdirSync(reportDir, { recursive: true })
  writeAtomically(join(reportDir, 'report.json'), reportJson(report))
  writeAtomically(join(reportDir, 'summary.md'), summary.endsWith('\n') ? summary : summary + '\n')
  // The same run for test-report actions: rewritten with the report, so it never lags behind.
  writeJunitFile(reportDir, report, probeOutputReader(reportDir))
}
