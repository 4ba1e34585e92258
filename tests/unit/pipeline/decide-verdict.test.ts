// The verdict when the image is built in both contexts: the worse outcome decides, either way round.
import { describe, expect, it } from 'vitest'
import type { BuildResult, Report } from '../../../src/model/index.js'
import { decideVerdict } from '../../../src/pipeline/index.js'

const build = (context: BuildResult['context'], status: BuildResult['status']): BuildResult => ({
  context,
  status,
  failures: [],
  dependents: [],
  durationMs: 1
})

const report = (builds: BuildResult[]): Report => ({
  schemaVersion: 1,
  result: 'passed',
  decidedBy: null,
  complete: true,
  startedAt: '',
  finishedAt: '',
  stages: {},
  setup: { ok: true, changes: [], cleanupPaths: [], kvm: { action: '', deviceUsable: false } },
  builds
})

describe('decideVerdict with build-in: both', () => {
  it('passes on the host, fails in the devshell: build-failed, decided by build', () => {
    const verdict = decideVerdict(
      report([build('host', 'passed'), build('devshell', 'build-failed')])
    )
    expect(verdict).toEqual({ result: 'build-failed', decidedBy: 'build' })
  })

  it('fails on the host, passes in the devshell: build-failed as well', () => {
    const verdict = decideVerdict(
      report([build('host', 'build-failed'), build('devshell', 'passed')])
    )
    expect(verdict).toEqual({ result: 'build-failed', decidedBy: 'build' })
  })

  it('an evaluation failure in the devshell is not hidden by the host passing', () => {
    const verdict = decideVerdict(
      report([build('host', 'passed'), build('devshell', 'eval-failed')])
    )
    expect(verdict).toEqual({ result: 'eval-failed', decidedBy: 'build' })
  })

  it('both pass: passed', () => {
    const verdict = decideVerdict(report([build('host', 'passed'), build('devshell', 'passed')]))
    expect(verdict).toEqual({ result: 'passed', decidedBy: null })
  })
})

describe('decideVerdict with QEMU provisioning', () => {
  const qemu = (status: 'ready' | 'failed' | 'stopped'): Report['qemu'] => ({
    status,
    mode: 'auto',
    attempts: [],
    readyAfterMs: 1
  })

  it('no source gave QEMU: setup-failed, decided by qemu (the build was stopped for it)', () => {
    expect(decideVerdict({ ...report([]), qemu: qemu('failed') })).toEqual({
      result: 'setup-failed',
      decidedBy: 'qemu'
    })
  })

  it('a provisioning stopped because the build failed leaves the verdict to the build', () => {
    const verdict = decideVerdict({
      ...report([build('host', 'eval-failed')]),
      qemu: qemu('stopped')
    })
    expect(verdict).toEqual({ result: 'eval-failed', decidedBy: 'build' })
  })
})
