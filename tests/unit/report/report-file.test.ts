import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Report } from '../../../src/model/index.js'
import { reportJson, writeReportFiles } from '../../../src/report/report-file.js'
import { failedReport, passedReport } from './fixtures.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** The same report with every object's keys inserted in reverse order. */
function shuffled(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shuffled)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, shuffled(v)])
  )
}

describe('report.json', () => {
  it('has a stable key order whatever order the stages filled it in', () => {
    const report = failedReport('probe-failed')
    expect(reportJson(shuffled(report) as Report)).toBe(reportJson(report))
  })

  it('starts with the verdict, lists stages in stage order and round-trips', () => {
    const report = passedReport()
    const text = reportJson(shuffled(report) as Report)
    expect(Object.keys(JSON.parse(text)).slice(0, 4)).toEqual([
      'schemaVersion',
      'result',
      'decidedBy',
      'complete'
    ])
    expect(Object.keys(JSON.parse(text).stages)).toEqual([
      'setup',
      'build',
      'env-diff',
      'boot',
      'probes',
      'test',
      'upload'
    ])
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(report)))
    expect(text).toMatch(/^\{\n {2}"schemaVersion": 1,\n/)
    expect(text.endsWith('}\n')).toBe(true)
  })

  it('writes report.json, summary.md and junit.xml, and nothing else (no temporary file left)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-file-'))
    dirs.push(dir)
    const report = failedReport('build-failed')
    writeReportFiles(join(dir, 'report'), report, '## ❌ build-failed')
    writeReportFiles(join(dir, 'report'), report, '## ❌ build-failed — decided by build\n')
    expect(readdirSync(join(dir, 'report')).sort()).toEqual([
      'junit.xml',
      'report.json',
      'summary.md'
    ])
    expect(readFileSync(join(dir, 'report', 'junit.xml'), 'utf8')).toContain(
      '<testcase classname="boot-image-vm.stage" name="build"'
    )
    expect(readFileSync(join(dir, 'report', 'summary.md'), 'utf8')).toBe(
      '## ❌ build-failed — decided by build\n'
    )
    expect(JSON.parse(readFileSync(join(dir, 'report', 'report.json'), 'utf8')).result).toBe(
      'build-failed'
    )
  })
})
