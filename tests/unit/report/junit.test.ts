// fast-xml-parser comes with @azure/storage-blob (the artifact client's): a real XML parser reads
// what the action writes, as a test-report action would.
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import { JUNIT_LIMITS, junitXml, xmlText } from '../../../src/report/junit.js'
import { failedReport, failure, passedReport, probe } from './fixtures.js'

const parse = (xml: string) => {
  expect(XMLValidator.validate(xml)).toBe(true)
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: n => n === 'testcase'
  }).parse(xml)
}
const noFiles = (): undefined => undefined

describe('junit.xml', () => {
  it('one testsuite for the run, a testcase per stage, probe and the test command', () => {
    const xml = junitXml(passedReport(), noFiles)
    const suite = parse(xml).testsuites.testsuite
    const cases = suite.testcase.map(
      (c: { classname: string; name: string }) => `${c.classname} ${c.name}`
    )
    expect(cases).toEqual([
      'boot-image-vm.stage setup',
      'boot-image-vm.stage build',
      'boot-image-vm.stage env-diff',
      'boot-image-vm.stage boot',
      'boot-image-vm.stage probes',
      'boot-image-vm.stage test',
      'boot-image-vm.stage upload',
      'boot-image-vm.probe system-state',
      'boot-image-vm.probe journal',
      'boot-image-vm.test test command'
    ])
    expect(suite).toMatchObject({
      tests: '10',
      failures: '0',
      skipped: '0',
      timestamp: '2026-11-25T18:00:00.000Z'
    })
    expect(suite.testcase[0].time).toBe('1.5')
  })

  it('a build failure names the failed derivation’s log in the artifact', () => {
    const report = failedReport('build-failed')
    report.builds[0].failures = [failure('broken-leaf'), failure('broken-beta')]
    const suite = parse(junitXml(report, noFiles)).testsuites.testsuite
    const build = suite.testcase.find((c: { name: string }) => c.name === 'build')
    expect(build.failure.type).toBe('build-failed')
    expect(build.failure['#text']).toContain(
      'build/failed/broken-leaf.log, build/failed/broken-beta.log'
    )
    expect(suite.failures).toBe('1')
  })

  it('a failed required probe fails with its output’s tail; an optional one is skipped', () => {
    const report = failedReport('probe-failed')
    report.vm!.probes.push(probe('journal-x', { required: false, exitCode: 2 }))
    const read = (file: string) =>
      file === 'probes/system-state.txt' ? 'state: degraded\n' : undefined
    const suite = parse(junitXml(report, read)).testsuites.testsuite
    const state = suite.testcase.find((c: { name: string }) => c.name === 'system-state')
    expect(state.failure.message).toBe('system-state: exit code 1')
    expect(state.failure['#text']).toContain(
      'Output in the report (artifact): probes/system-state.txt'
    )
    expect(state.failure['#text']).toContain('state: degraded')
    const optional = suite.testcase.find((c: { name: string }) => c.name === 'journal-x')
    expect(optional.skipped.message).toBe('optional: exit code 2')
    expect(suite.failures).toBe('2') // the probes stage and the probe
  })

  it('escapes untrusted text, strips what XML 1.0 forbids, and caps it', () => {
    const report = failedReport('test-failed')
    const hostile = `</failure><x a="1">&'\u0000\u0001\u001b[31m\ud800 ok \u{1F600}\r\n]]>`
    const read = () => hostile + 'y'.repeat(100_000)
    report.stages.test!.detail = hostile
    const xml = junitXml(report, read)
    expect(xml.length).toBeLessThan(60_000)
    const suite = parse(xml).testsuites.testsuite
    const test = suite.testcase.find((c: { name: string }) => c.name === 'test')
    expect(test.failure.message).toContain('</failure><x a="1">&\'')
    // eslint-disable-next-line no-control-regex
    expect(test.failure.message).not.toMatch(/[\u0000-\u0008\u001b]/)
    // eslint-disable-next-line no-control-regex
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/)
    expect(xml).not.toContain('\ud800 ')
    expect(xml).toContain('\u{1F600}')
    const command = suite.testcase.find((c: { name: string }) => c.name === 'test command')
    expect(command.failure['#text'].length).toBeLessThanOrEqual(JUNIT_LIMITS.body + 50)
    expect(xmlText('a'.repeat(50), 10)).toBe('aaaaaaaaa…')
  })
})
