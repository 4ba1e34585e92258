// The bundled action, run as a GitHub runner runs it (dist/index.js then dist/post.js under Node 24)
// on the offline fixture, against the local results service: the real contract end to end.
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  artifactOf,
  jobLog,
  startResultsService,
  LAB_INPUTS
} from '../helpers/e2e.js'
import { makeFixtureFlake } from '../helpers/lab.js'

let service: FakeResultsService
let flake: string
const runs: ActionRun[] = []

beforeAll(async () => {
  service = await startResultsService()
  flake = makeFixtureFlake()
})
afterAll(async () => {
  await service.close()
  await Promise.all(runs.map(run => run.cleanup()))
})

async function run(inputs: Record<string, string>): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      ...LAB_INPUTS,
      flake,
      memory: '512',
      'boot-timeout': '240',
      probes: BUSYBOX_PROBES,
      ...inputs
    },
    env: LAB_ACTION_ENV,
    resultsService: service
  })
  runs.push(result)
  return result
}

function expectNoSecrets(run: ActionRun, files: Record<string, string>): void {
  const privateKeyLines = run.masks.filter(mask => mask.length >= 16)
  expect(privateKeyLines.length).toBeGreaterThan(0)
  for (const [name, text] of Object.entries(files)) {
    expect(text, name).not.toContain('OPENSSH PRIVATE KEY')
    for (const mask of privateKeyLines)
      expect(text.includes(mask), `${name} holds a secret`).toBe(false)
  }
}

describe('the bundled action on the offline fixture', () => {
  it('builds, boots (KVM if it runs guests, else TCG), probes, uploads the report, and cleans up in post', async () => {
    const result = await run({ image: 'bootImage' })
    expect(result.main.stderr).not.toMatch(/Error:|TypeError/)
    expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('passed')
    expect(existsSync(result.outputs['iso-path'])).toBe(true)
    expect(result.outputs['iso-path']).toMatch(/\.iso$/)
    expect(result.outputs.accel).toMatch(/^(tcg|kvm)$/)
    expect(Number(result.outputs['boot-seconds'])).toBeGreaterThan(0)
    expect(result.summary.split('\n')[0]).toMatch(/passed/)
    // Whatever this machine's KVM is: a boot without it (no /dev/kvm, or one that cannot run a
    // guest) is said out loud.
    expect(
      result.annotations.some(
        a => a.level === 'warning' && /TCG/i.test(a.message + (a.title ?? ''))
      )
    ).toBe(result.outputs.accel === 'tcg')

    const files = await artifactOf(service, result)
    for (const name of [
      'report.json',
      'summary.md',
      'build/build.log',
      'vm/serial.log',
      'probes/kernel.txt'
    ]) {
      expect(Object.keys(files)).toContain(name)
    }
    expect(files['vm/serial.log']).toContain('boot-image-vm: ready')
    expect(files['probes/kernel.txt']).toContain('Linux')
    expect(JSON.parse(files['report.json']).result).toBe('passed')
    expectNoSecrets(result, files)

    expect(existsSync(result.state['key-dir'])).toBe(false)
    expect(result.leftovers).toEqual([])
    expect(result.post.exitCode).toBe(0)
  })

  it('reports a failing image as build-failed with the failing derivation log, and still uploads', async () => {
    const result = await run({ image: 'failingLeaf' })
    expect(result.outputs.result).toBe('build-failed')
    expect(result.main.exitCode).not.toBe(0)
    const failed = JSON.parse(result.outputs['failed-drvs']) as { name: string; log: string }[]
    expect(failed.map(f => f.name)).toEqual(['broken-leaf'])
    expect(
      result.annotations.some(a => a.level === 'error' && a.title?.includes('broken-leaf'))
    ).toBe(true)

    const files = await artifactOf(service, result)
    expect(files[failed[0].log]).toContain('line 40')
    expect(files['report.json']).toBeDefined()
    expect(result.summary.split('\n')[0]).toMatch(/build-failed/)
    expectNoSecrets(result, files)
    expect(result.leftovers).toEqual([])
  })
})
