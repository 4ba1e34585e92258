// Every failure fixture through the bundled action: the right result, exactly the derivations whose
// own builder failed (never their parents), and each one's whole log in the artifact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import {
  LAB_ACTION_ENV,
  artifactOf,
  jobLog,
  startResultsService,
  LAB_INPUTS
} from '../helpers/e2e.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
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

const CASES = [
  { image: 'failingLeaf', roots: ['broken-leaf'] },
  { image: 'failingDeep', roots: ['broken-leaf'] },
  { image: 'failingTwo', roots: ['broken-alpha', 'broken-beta'] }
]

describe('build failures through the bundled action', () => {
  it.each(CASES)('$image: build-failed, blaming exactly $roots', async ({ image, roots }) => {
    const run = await runAction({
      inputs: { ...LAB_INPUTS, flake, image, 'artifact-name': `logs-${image}` },
      env: LAB_ACTION_ENV,
      resultsService: service
    })
    runs.push(run)
    expect(run.outputs.result, jobLog(run).slice(-3000)).toBe('build-failed')
    const failed = JSON.parse(run.outputs['failed-drvs']) as { name: string; log: string }[]
    expect(failed.map(f => f.name).sort()).toEqual(roots)
    const files = await artifactOf(service, run)
    for (const derivation of failed) {
      // The whole log, first line to last, not the tail Nix prints.
      expect(files[derivation.log]).toContain('line 1\n')
      expect(files[derivation.log]).toContain('line 40')
      const annotated = run.annotations.some(
        a => a.level === 'error' && a.title?.includes(derivation.name)
      )
      expect(annotated, `an error annotation names ${derivation.name}`).toBe(true)
    }
  })

  it('evalError: eval-failed with the message of the throw, nothing built', async () => {
    const run = await runAction({
      inputs: { ...LAB_INPUTS, flake, image: 'evalError', 'artifact-name': 'logs-evalError' },
      env: LAB_ACTION_ENV,
      resultsService: service
    })
    runs.push(run)
    expect(run.outputs.result).toBe('eval-failed')
    expect(run.outputs['failed-drvs']).toBe('[]')
    expect(run.summary).toContain('deliberate evaluation error')
    expect(Object.keys(await artifactOf(service, run))).toContain('report.json')
  })
})
