// Post completes the report of a main step that was stopped before it delivered it.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Report } from '../../../src/model/index.js'
import { decideVerdict } from '../../../src/pipeline/index.js'
import { addPrivateKeys, interruptedReport } from '../../../src/report/interrupted.js'
import { Secrets } from '../../../src/shared/secrets.js'

function reportDirWith(report?: Partial<Report>): string {
  const dir = mkdtempSync(join(tmpdir(), 'biv-interrupted-'))
  if (report) writeFileSync(join(dir, 'report.json'), JSON.stringify(report))
  return dir
}

const builtNotBooted: Partial<Report> = {
  schemaVersion: 1,
  result: 'passed',
  decidedBy: null,
  complete: false,
  startedAt: '2026-11-29T20:00:00.000Z',
  finishedAt: '',
  stages: { build: { status: 'passed', durationMs: 1000, detail: 'host: built' } },
  builds: []
}

describe('interruptedReport', () => {
  it('blames the boot when the image was built, says cancelled, and is complete', () => {
    const report = interruptedReport(reportDirWith(builtNotBooted), true, decideVerdict)
    expect(report).toMatchObject({ result: 'boot-failed', decidedBy: 'boot', complete: true })
    expect(report.cancelled).toBe(true)
    expect(report.error).toMatch(/^The run was cancelled and its main step was stopped/)
  })

  it('blames the build when no build had finished, and says killed without a cancel', () => {
    const report = interruptedReport(
      reportDirWith({ ...builtNotBooted, stages: {} }),
      false,
      decideVerdict
    )
    expect(report).toMatchObject({ result: 'build-failed', decidedBy: 'build' })
    expect(report.error).toMatch(/killed or crashed/)
  })

  it('starts from an empty report when main wrote none', () => {
    const report = interruptedReport(reportDirWith(), true, decideVerdict)
    expect(report.complete).toBe(true)
    expect(report.result).not.toBe('passed')
  })
})

describe('addPrivateKeys', () => {
  it('registers every private key under the key dir (the context keys too), not the public halves', () => {
    const dir = mkdtempSync(join(tmpdir(), 'biv-keys-'))
    mkdirSync(join(dir, 'devshell'))
    writeFileSync(join(dir, 'id_ed25519'), 'PRIVATE-ONE-0123456789abcdef')
    writeFileSync(join(dir, 'id_ed25519.pub'), 'ssh-ed25519 PUBLIC')
    writeFileSync(join(dir, 'devshell', 'id_ed25519'), 'PRIVATE-TWO-0123456789abcdef')
    const secrets = new Secrets()
    addPrivateKeys(dir, secrets)
    expect(secrets.redact('PRIVATE-ONE-0123456789abcdef PRIVATE-TWO-0123456789abcdef')).not.toMatch(
      /PRIVATE/
    )
    expect(secrets.redact('ssh-ed25519 PUBLIC')).toContain('PUBLIC')
  })
})
