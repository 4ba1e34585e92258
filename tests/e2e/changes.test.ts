// What changed since the last good run, through the bundled action (npm run bundle first) against
// the fake results service (the baseline travels through @actions/cache). A flake with one input
// (a local git repository, tests/helpers/pkgsrc.ts) that sets libfoo's version: three unchanged
// runs say nothing changed; updating the input (nix flake lock --update-input) to libfoo 1.1, whose
// release also puts 12 s of sleep into /init, is named with both revisions and both versions next
// to the boot-time regression it caused; libfoo 1.2 breaks libfoo-check, and the failed build
// names libfoo as the suspect in its closure. Each run leaves junit.xml, which a JUnit parser reads.
// The first run is also the upload: failure case of a passing run (report.test.ts's, once a boot of
// its own). What the stand-in cannot prove: GitHub's compare pages themselves (the links are only
// built).
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Comparison, Report } from '../../src/model/index.js'
import type { ImageChanges } from '../../src/model/index.js'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import { LAB_ACTION_ENV, LAB_BOOT_INPUTS, jobLog, startResultsService } from '../helpers/e2e.js'
import { makeFlakeWithInput, type FlakeWithInput } from '../helpers/pkgsrc.js'

const TIMEOUT = 10 * 60_000
const SHA = '0123456789abcdef0123456789abcdef01234567'
const NEXT_SHA = 'fedcba9876543210fedcba9876543210fedcba98'

let service: FakeResultsService
let fixture: FlakeWithInput
let runNumber = 300
const runs: ActionRun[] = []

beforeAll(async () => {
  service = await startResultsService()
  fixture = makeFlakeWithInput({ libfooVersion: '1.0', variant: 'boot' })
})
afterAll(async () => {
  await service?.close()
  await Promise.all(runs.map(run => run.cleanup()))
  fixture?.cleanup()
})

async function run(
  env: Record<string, string> = {},
  inputs: Record<string, string> = {}
): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      flake: fixture.flake,
      image: 'changesImage',
      probes: 'kernel: uname -r',
      upload: 'never',
      ...LAB_BOOT_INPUTS,
      ...inputs
    },
    env: { ...LAB_ACTION_ENV, GITHUB_RUN_ID: String(++runNumber), ...env },
    resultsService: service
  })
  runs.push(result)
  return result
}

const reportOf = (result: ActionRun): Report =>
  JSON.parse(readFileSync(join(result.outputs['report-dir'], 'report.json'), 'utf8'))

function comparison(result: ActionRun): Comparison {
  const compared = reportOf(result).comparison
  expect(compared, 'report.json has a comparison').toBeDefined()
  return compared!
}

/** junit.xml, read by a JUnit parser: its testcases by name. */
function junitCases(result: ActionRun): Map<string, Record<string, unknown>> {
  const path = result.outputs['junit-path']
  expect(path).toBe(join(result.outputs['report-dir'], 'junit.xml'))
  const xml = readFileSync(path, 'utf8')
  expect(XMLValidator.validate(xml)).toBe(true)
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: name => name === 'testcase'
  }).parse(xml)
  const cases = parsed.testsuites.testsuite.testcase as Record<string, unknown>[]
  return new Map(cases.map(c => [`${c.classname} ${c.name}`, c]))
}

describe('what changed since the last good run, through the bundled action', () => {
  let firstRev = ''

  it(
    'says nothing changed over unchanged runs of a flake with an input, and remembers what the image was made of',
    { timeout: 3 * TIMEOUT },
    async () => {
      firstRev = fixture.rev()
      for (let i = 1; i <= 3; i++) {
        const artifactsBefore = service.artifacts.length
        // The first run also carries report.test.ts's upload: failure case (it booted a run of its
        // own for it): a passing run uploads nothing and keeps the report on disk.
        const result = await run({ GITHUB_SHA: SHA }, i === 1 ? { upload: 'failure' } : {})
        expect(result.outputs.result, result.summary.slice(0, 4000)).toBe('passed')
        if (i === 1) {
          expect(service.artifacts.length).toBe(artifactsBefore)
          expect(result.outputs['artifact-id']).toBe('')
          const dir = result.outputs['report-dir']
          expect(existsSync(join(dir, 'report.json'))).toBe(true)
          expect(statSync(join(dir, 'vm', 'serial.log')).size).toBeGreaterThan(0)
        }
        const baseline = JSON.parse(
          readFileSync(join(result.outputs['report-dir'], 'baseline.json'), 'utf8')
        )
        expect(baseline.inputs).toMatchObject([{ name: 'pkgsrc', type: 'git', rev: firstRev }])
        expect(baseline.commit.sha).toBe(SHA)
        expect(baseline.packages).toMatchObject({ libfoo: ['1.0'], 'libfoo-check': [''] })
        const cases = junitCases(result)
        expect([...cases.keys()]).toContain('boot-image-vm.probe kernel')
        expect([...cases.values()].filter(c => c.failure)).toEqual([])
        const compared = comparison(result)
        if (i === 1) {
          expect(compared.status).toBe('no-baseline')
          continue
        }
        const changes = JSON.parse(result.outputs.changes) as ImageChanges
        expect(changes.sentence).toMatch(
          /^nothing in the inputs, commit or packages changed since the last good run \(\d{4}-\d{2}-\d{2}, 0123456\)$/
        )
        // Only a boot time far from the earlier runs' may differ: said with both times, never counted.
        const others = (compared.changes ?? []).filter(c => c.kind !== 'boot-time')
        expect(others).toEqual([])
        if (compared.status === 'unchanged') {
          expect(result.summary).toContain('**Nothing changed** since the last good run.')
        } else {
          expect(compared.changes?.[0].summary).toMatch(
            /^Boot \d+\.\d s, against .* too little history/
          )
        }
        expect(result.summary).toContain('<details><summary>What the image was made of: no change')
      }
    }
  )

  it(
    'names the input’s two revisions and libfoo 1.0 → 1.1 beside the slower boot they brought',
    { timeout: TIMEOUT },
    async () => {
      const rev = fixture.release({ libfooVersion: '1.1', variant: 'slowinit' })
      const result = await run({ GITHUB_SHA: NEXT_SHA })
      expect(result.outputs.result, result.summary.slice(0, 4000)).toBe('passed')
      const compared = comparison(result)
      expect(compared.regressions.map(r => `${r.kind}:${r.subject ?? ''}`)).toEqual([
        'boot-time:init'
      ])
      const changes = JSON.parse(result.outputs.changes) as ImageChanges
      expect(changes.inputs).toMatchObject([
        { name: 'pkgsrc', kind: 'updated', before: { rev: firstRev }, after: { rev } }
      ])
      expect(changes.packages).toEqual([
        { name: 'libfoo', kind: 'changed', before: ['1.0'], after: ['1.1'], image: true }
      ])
      expect(changes.commits?.compareUrl).toBe(
        `https://github.com/octo-org/boot-image-vm-test/compare/${SHA}...${NEXT_SHA}`
      )
      expect(changes.suspects).toMatchObject({ kind: 'regression', phase: 'init' })
      const sentence = `pkgsrc ${changes.inputs[0].before?.date} (${firstRev.slice(0, 12)}) → ${changes.inputs[0].after?.date} (${rev.slice(0, 12)})`
      expect(changes.sentence).toContain(sentence)
      expect(changes.sentence).toContain('in the image: libfoo 1.0 → 1.1; slower in init')
      console.log(`two runs apart: ${changes.sentence}\n${compared.boot?.sentence}`)
      // On the first screen: the regression, then what the image was made of, open.
      const summary = result.summary
      expect(summary).toContain('<details open><summary>What the image was made of: changes')
      expect(summary.indexOf('What the image was made of')).toBeLessThan(
        summary.indexOf('### Setup')
      )
      expect(summary).toContain(sentence)
      expect(summary).toContain('| libfoo | 1.0 | 1.1 | changed |')
      const dir = result.outputs['report-dir']
      expect(JSON.parse(readFileSync(join(dir, 'changes.json'), 'utf8')).sentence).toBe(
        changes.sentence
      )
      expect(readFileSync(join(dir, 'changes.md'), 'utf8')).toContain(
        '| libfoo | 1.0 | 1.1 | changed |'
      )
    }
  )

  it(
    'names libfoo 1.1 → 1.2 as the suspect in the failed derivation’s closure',
    { timeout: TIMEOUT },
    async () => {
      fixture.release({ libfooVersion: '1.2', variant: 'boot' })
      const result = await run({ GITHUB_SHA: NEXT_SHA })
      expect(result.outputs.result, jobLog(result).slice(-3000)).toBe('build-failed')
      const failed = JSON.parse(result.outputs['failed-drvs']) as { drv: string; log: string }[]
      expect(failed.map(f => f.drv)).toEqual([expect.stringMatching(/-libfoo-check\.drv$/)])
      const changes = comparison(result).imageChanges!
      expect(changes.suspects).toMatchObject({ kind: 'build', drv: failed[0].drv })
      expect(changes.suspects?.packages.map(p => `${p.name} ${p.before} → ${p.after}`)).toEqual([
        'libfoo 1.1 → 1.2'
      ])
      expect(changes.sentence).toContain('in the failing closure: libfoo 1.1 → 1.2')
      expect(result.summary).toContain('in the failing closure: libfoo 1.1 → 1.2')
      // junit.xml: the build stage fails and says where the failed derivation's log is.
      const build = junitCases(result).get('boot-image-vm.stage build') as {
        failure: { type: string; '#text': string }
      }
      expect(build.failure.type).toBe('build-failed')
      expect(build.failure['#text']).toContain(failed[0].log)
      expect(existsSync(join(result.outputs['report-dir'], failed[0].log))).toBe(true)
    }
  )
})
