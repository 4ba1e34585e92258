// The regression view through the bundled action (npm run bundle first) against the fake results
// service: a passing run saves a baseline, the next run of the same image says nothing changed, a
// commit that slows the boot and changes a probe's output is reported as exactly that, a failing
// run never replaces the baseline, and a pull request compares with its base branch's.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Comparison, Report } from '../../src/model.js'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import {
  startFakeResultsService,
  type FakeResultsService
} from '../helpers/fake-results-service.js'
import { LAB_ACTION_ENV } from '../helpers/e2e.js'
import { makeFixtureFlake } from '../helpers/lab.js'

// Busybox guest: no systemd probes. `variant` shows what the fixture's /init was built as. IPv4
// only: the guest's IPv6 addresses come and go with router advertisements, a real boot-to-boot
// difference that no masking hides.
const probes = [
  'addresses: ip -4 address show',
  'kernel: uname -a',
  'variant: cat /etc/variant'
].join('\n')
const BOOT_IMAGE = 'bootImage = iso { name = "boot-image-vm-fixture.iso"; };'
const TIMEOUT = 10 * 60_000

let service: FakeResultsService
let flake: string
let runNumber = 100
const runs: ActionRun[] = []

beforeAll(async () => {
  service = await startFakeResultsService()
  flake = makeFixtureFlake()
})
afterAll(async () => {
  await service.close()
  await Promise.all(runs.map(run => run.cleanup()))
})

/** Replaces the bootImage attribute in the fixture flake and commits, as a change to the code would. */
function setBootImage(definition: string): void {
  const path = join(flake, 'flake.nix')
  const text = readFileSync(path, 'utf8')
  const current = /^ {8}bootImage = .*$/m.exec(text)
  expect(current, 'bootImage in the fixture flake').not.toBeNull()
  writeFileSync(path, text.replace(current![0], `        ${definition}`))
  for (const args of [['commit', '-q', '-am', `bootImage: ${definition}`]]) {
    const result = spawnSync('git', args, { cwd: flake, encoding: 'utf8' })
    expect(result.status, result.stderr).toBe(0)
  }
}

async function run(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      flake,
      image: 'bootImage',
      memory: '512',
      'boot-timeout': '240',
      probes,
      upload: 'never',
      ...inputs
    },
    // A run id of its own per run, as GitHub gives: the baseline key ends with it.
    env: { ...LAB_ACTION_ENV, GITHUB_RUN_ID: String(++runNumber), ...env },
    resultsService: service
  })
  runs.push(result)
  return result
}

function report(result: ActionRun): Report {
  return JSON.parse(readFileSync(join(result.outputs['report-dir'], 'report.json'), 'utf8'))
}

function comparison(result: ActionRun): Comparison {
  const compared = report(result).comparison
  expect(compared, 'report.json has a comparison').toBeDefined()
  return compared!
}

const baselineKeys = (): string[] =>
  service.caches.map(entry => entry.key).filter(key => key.startsWith('boot-image-vm-baseline-'))

describe('the regression view through the bundled action', () => {
  let mainKey = ''

  it('saves a baseline after the first passing run', { timeout: TIMEOUT }, async () => {
    const result = await run({})
    expect(result.outputs.result).toBe('passed')
    expect(comparison(result).status).toBe('no-baseline')
    expect(result.outputs.regressions).toBe('[]')
    expect(result.summary).toContain('Compared with the last good run')
    const baseline = JSON.parse(
      readFileSync(join(result.outputs['report-dir'], 'baseline.json'), 'utf8')
    )
    expect(baseline.schemaVersion).toBe(1)
    expect(baseline.probes.map((p: { name: string }) => p.name)).toEqual([
      'addresses',
      'kernel',
      'variant'
    ])
    // The address is masked in the kept output.
    expect(baseline.probes[0].output).toContain('<ipv4>')
    expect(baseline.probes[0].output).not.toContain('10.0.2.15')
    expect(result.post.exitCode).toBe(0)
    expect(baselineKeys()).toHaveLength(1)
    mainKey = baselineKeys()[0]
    expect(mainKey).toMatch(
      /^boot-image-vm-baseline-v1\/octo-org%2Fboot-image-vm-test\/main\/bootImage%40[0-9a-f]{8}\/x86_64-linux\/101-1$/
    )
  })

  it('says nothing changed on the next run of the same image', { timeout: TIMEOUT }, async () => {
    // TCG boots here vary several-fold with the machine's load: boot time is not the subject here.
    const result = await run({ 'slowdown-threshold': '1000' })
    expect(result.outputs.result).toBe('passed')
    expect(baselineKeys()).toHaveLength(2)
    const restored = mainKey
    mainKey = baselineKeys()[1]
    const compared = comparison(result)
    expect(compared.baselineSource).toBe(restored)
    expect(compared.status, JSON.stringify(compared.changes)).toBe('unchanged')
    expect(result.outputs.regressions).toBe('[]')
    expect(result.summary).toContain('Nothing changed')
  })

  it(
    'reports exactly a slower boot and a changed probe output, and fails only the step when asked',
    { timeout: TIMEOUT },
    async () => {
      setBootImage('bootImage = iso { name = "boot-image-vm-fixture.iso"; variant = "slow"; };')
      const result = await run({ 'fail-on-regression': 'true' })
      expect(result.outputs.result).toBe('passed')
      expect(result.main.exitCode).not.toBe(0)
      const compared = comparison(result)
      expect(compared.baselineSource).toBe(mainKey)
      expect(compared.status).toBe('changed')
      const regressions = JSON.parse(result.outputs.regressions) as {
        kind: string
        subject?: string
      }[]
      expect(regressions.map(r => `${r.kind}:${r.subject ?? ''}`).sort()).toEqual([
        'boot-time:',
        'probe-output:variant'
      ])
      expect(compared.changes?.map(c => c.kind).sort()).toEqual(['boot-time', 'probe-output'])
      const diff = compared.changes?.find(c => c.kind === 'probe-output')?.diff ?? ''
      expect(diff).toContain('-boot')
      expect(diff).toContain('+slow')
      expect(
        result.annotations.some(
          a => a.level === 'warning' && a.title === 'Boot slower than the last good run'
        )
      ).toBe(true)
      expect(result.summary).toContain('```diff')
      // A run failed for its regressions does not become the baseline.
      expect(baselineKeys()).toHaveLength(2)
    }
  )

  it('never replaces the baseline with a failing run', { timeout: TIMEOUT }, async () => {
    setBootImage('bootImage = brokenLeaf;')
    try {
      const result = await run({})
      expect(result.outputs.result).toBe('build-failed')
      const compared = comparison(result)
      expect(compared.baselineSource).toBe(mainKey)
      expect(compared.regressions.map(r => r.kind)).toEqual(['result'])
      expect(result.post.exitCode).toBe(0)
      expect(baselineKeys()).toHaveLength(2)
    } finally {
      setBootImage(BOOT_IMAGE)
    }
  })

  it(
    "compares a pull request with its base branch's baseline and saves none",
    { timeout: TIMEOUT },
    async () => {
      const result = await run(
        { 'slowdown-threshold': '1000' },
        {
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_REF: 'refs/pull/7/merge',
          GITHUB_REF_NAME: '7/merge',
          GITHUB_BASE_REF: 'main',
          GITHUB_HEAD_REF: 'feature'
        }
      )
      expect(result.outputs.result).toBe('passed')
      const compared = comparison(result)
      expect(compared.baselineSource).toBe(mainKey)
      expect(compared.status, JSON.stringify(compared.changes)).toBe('unchanged')
      expect(result.post.exitCode).toBe(0)
      expect(baselineKeys()).toHaveLength(2)
    }
  )
})
