import { describe, expect, it } from 'vitest'
import { actionOutputs, EXIT_CODES, OUTPUT_NAMES } from '../../../src/report/outputs.js'
import { readActionYml } from '../action-yml.js'
import {
  build,
  failedReport,
  failure,
  FAILURE_KINDS,
  ISO_DRV,
  ISO_OUT,
  passedReport
} from './fixtures.js'

const declared = readActionYml().outputs.map(output => output.name)
const context = { reportDir: '/tmp/report' }

describe('actionOutputs', () => {
  it('knows exactly the outputs action.yml declares', () => {
    expect(declared.length).toBeGreaterThan(5)
    expect([...OUTPUT_NAMES].sort()).toEqual([...declared].sort())
  })

  it('sets every output on success', () => {
    const outputs = actionOutputs(passedReport(), context)
    expect(Object.keys(outputs).sort()).toEqual([...declared].sort())
    expect(outputs).toEqual({
      result: 'passed',
      'iso-path': `${ISO_OUT}/iso/nixos.iso`,
      'iso-artifact': '',
      'out-path': ISO_OUT,
      'drv-path': ISO_DRV,
      'failed-drvs': '[]',
      accel: 'kvm',
      'boot-seconds': '42',
      'nix-version': '2.31.2',
      'report-dir': '/tmp/report',
      'artifact-id': '1234',
      'artifact-url': 'https://github.com/o/r/actions/runs/1/artifacts/1234',
      regressions: '[]',
      changes: '{}',
      'junit-path': '/tmp/report/junit.xml'
    })
  })

  it.each(FAILURE_KINDS)('sets every output, as strings, when the run is %s', result => {
    const outputs = actionOutputs(failedReport(result), context)
    expect(Object.keys(outputs).sort()).toEqual([...declared].sort())
    for (const value of Object.values(outputs)) expect(typeof value).toBe('string')
    expect(outputs.result).toBe(result)
    expect(outputs['report-dir']).toBe('/tmp/report')
    expect(Array.isArray(JSON.parse(outputs['failed-drvs']))).toBe(true)
  })

  it('sets every output for a report with nothing in it but the verdict', () => {
    const report = failedReport('setup-failed')
    delete report.setup
    delete report.upload
    const outputs = actionOutputs(report, context)
    expect(Object.keys(outputs).sort()).toEqual([...declared].sort())
    expect(outputs['nix-version']).toBe('')
    expect(outputs['artifact-id']).toBe('')
    expect(outputs['failed-drvs']).toBe('[]')
  })

  it('lists the failed derivations without their tails, once each', () => {
    const report = failedReport('build-failed')
    const devshell = build({ context: 'devshell', status: 'build-failed', failures: [failure()] })
    report.builds.push(devshell)
    const list = JSON.parse(actionOutputs(report, context)['failed-drvs'])
    expect(list).toEqual([
      {
        drv: failure().drv,
        name: failure().name,
        reason: 'builder failed with exit code 1',
        exitCode: 1,
        log: `build/failed/${failure().name}.log`
      }
    ])
    expect(actionOutputs(report, context)['drv-path']).toBe(ISO_DRV)
    expect(actionOutputs(report, context)['iso-path']).toBe('')
  })

  it('says tcg and no boot time when the boot failed', () => {
    const outputs = actionOutputs(failedReport('boot-failed'), { ...context, nixVersion: '2.30.0' })
    expect(outputs.accel).toBe('tcg')
    expect(outputs['boot-seconds']).toBe('')
    expect(outputs['nix-version']).toBe('2.30.0')
  })
})

describe('EXIT_CODES', () => {
  it('gives each result its own code, 0 only for passed and 1 for internal errors', () => {
    expect(EXIT_CODES).toEqual({
      passed: 0,
      'internal-error': 1,
      'setup-failed': 2,
      'eval-failed': 3,
      'build-failed': 4,
      'boot-failed': 5,
      'probe-failed': 6,
      'test-failed': 7
    })
  })
})
