// The report's contract through the bundled action: two uses in one job with the default artifact
// name, and a summary that stays under GitHub's 1 MiB limit whatever the log size. (Upload mode
// failure on a passing run is proven on a passing run that boots anyway: changes.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  artifactOf,
  startResultsService,
  LAB_BOOT_INPUTS
} from '../helpers/e2e.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import { addFixturePackage, makeFixtureFlake } from '../helpers/lab.js'

const SUMMARY_LIMIT = 1024 * 1024
let service: FakeResultsService
let flake: string
const runs: ActionRun[] = []

beforeAll(async () => {
  service = await startResultsService()
  flake = makeFixtureFlake()
  // A builder that prints ~11 MB of log and fails: the artifact keeps it whole, the summary a tail.
  addFixturePackage(
    flake,
    'hugeLog',
    `drv { name = "boot-image-vm-huge-log"; nonce = "${Date.now()}"; args = [ "-c" ` +
      `"for i in $(seq 1 200000); do echo \\"log line $i of a build that never stops talking\\"; done; exit 1" ]; }`
  )
})
afterAll(async () => {
  await service.close()
  await Promise.all(runs.map(run => run.cleanup()))
})

async function run(inputs: Record<string, string>): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      ...LAB_BOOT_INPUTS,
      flake,
      probes: BUSYBOX_PROBES,
      ...inputs
    },
    env: LAB_ACTION_ENV,
    resultsService: service
  })
  runs.push(result)
  return result
}

// upload: failure on a passing run (nothing uploaded, the report kept on disk) is proven on the
// first passing run of tests/e2e/changes.test.ts, which boots anyway: a boot of its own cost 20 s.
describe('the report through the bundled action', () => {
  it('keeps a huge failing log whole in the artifact and the summary under 1 MiB', async () => {
    const result = await run({ image: 'hugeLog' })
    expect(result.outputs.result).toBe('build-failed')
    expect(Buffer.byteLength(result.summary, 'utf8')).toBeLessThan(SUMMARY_LIMIT)
    expect(result.summary).toContain('log line 200000 of a build')
    expect(result.summary.split('```').length % 2).toBe(1)
    const failed = JSON.parse(result.outputs['failed-drvs']) as { log: string }[]
    const files = await artifactOf(service, result)
    expect(Buffer.byteLength(files[failed[0].log], 'utf8')).toBeGreaterThan(10_000_000)
    expect(files[failed[0].log]).toContain('log line 1 of a build')
  })

  it('gives a second use in the same job its own artifact instead of colliding', async () => {
    const first = runs[0] ?? (await run({ image: 'hugeLog' }))
    const second = await run({ image: 'failingLeaf' })
    expect(second.outputs.result).toBe('build-failed')
    const ids = [first.outputs['artifact-id'], second.outputs['artifact-id']]
    expect(ids.every(id => /^\d+$/.test(id))).toBe(true)
    expect(new Set(ids).size).toBe(2)
    const names = ids.map(id => service.artifacts.find(a => String(a.id) === id)?.name)
    expect(names[0]).toBe('boot-image-vm-logs')
    expect(names[1]).toMatch(/^boot-image-vm-logs-.+/)
    expect(Object.keys(await artifactOf(service, second))).toContain('report.json')
  })
})
