// Bad input, tried the way the world will try it: every input with several bad values, through the
// bundled action (dist/index.js then dist/post.js) in the runner harness, with one shared fake
// results service. Each must fail with a message that names the input and what it accepts, the
// right `result`, no stack trace as the only explanation, and the report still uploaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import {
  LAB_ACTION_ENV,
  artifactOf,
  jobLog,
  startResultsService,
  LAB_INPUTS
} from '../helpers/e2e.js'
import { makeFixtureFlake } from '../helpers/lab.js'
import { BAD_INPUTS, NIX_INPUTS } from './hardening-cases.js'
import { tallyCases } from '../helpers/reliability-tally.js'

tallyCases('Bad input')

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

async function run(inputs: Record<string, string>, env: Record<string, string> = {}) {
  // Each run is its own job of one workflow run, as a matrix would be: artifact names stay free.
  const job = { GITHUB_JOB: `hardening-${runs.length}-${Math.random().toString(36).slice(2, 8)}` }
  const result = await runAction({
    inputs: { ...LAB_INPUTS, ...inputs },
    env: { ...job, ...env },
    resultsService: service
  })
  runs.push(result)
  return result
}

/** No line of the log looks like a stack frame without a plain error before it. */
function expectNoBareStackTrace(run: ActionRun): void {
  const log = jobLog(run)
  expect(log, 'a stack trace in the job log').not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m)
  expect(log).not.toMatch(/TypeError|ReferenceError|Unhandled/)
}

describe.concurrent('bad input values fail before Nix, name the input and what it accepts', () => {
  it.each(BAD_INPUTS.map(c => [`${c.input}: ${JSON.stringify(c.value)}`, c] as const))(
    '%s',
    async (_, c) => {
      const result = await run({ ...c.with, [c.input]: c.value })
      expect(result.outputs.result).toBe('setup-failed')
      expect(result.main.exitCode).toBe(1)
      const errors = result.annotations.filter(a => a.level === 'error' && a.step === 'main')
      expect(errors.length, jobLog(result)).toBeGreaterThan(0)
      const message = errors.map(a => a.message).join('\n')
      expect(message).toContain(`Input '${c.input}'`)
      expect(message).toMatch(c.accepts)
      expectNoBareStackTrace(result)
      // The report says the same and still reaches the artifact; post finishes cleanly.
      const files = await artifactOf(service, result)
      const report = JSON.parse(files['report.json']) as {
        result: string
        setup?: { error: string }
      }
      expect(report.result).toBe('setup-failed')
      expect(report.setup?.error).toContain(`Input '${c.input}'`)
      expect(files['summary.md']).toContain(`Input '${c.input}'`)
      expect(result.post.exitCode).toBe(0)
      expect(result.leftovers).toEqual([])
    }
  )
})

describe('inputs only Nix can judge', () => {
  it.each(NIX_INPUTS.map(c => [c.name, c] as const))('%s', async (_, c) => {
    const result = await run(
      { ...c.inputs(flake), devshell: '', memory: '512', 'boot-timeout': '60' },
      LAB_ACTION_ENV
    )
    expect(result.outputs.result, jobLog(result)).toBe(c.result)
    expect(result.main.exitCode).toBe(1)
    expectNoBareStackTrace(result)
    const errors = result.annotations.filter(a => a.level === 'error')
    expect(errors.map(a => `${a.title ?? ''} ${a.message}`).join('\n')).toMatch(c.says)
    const files = await artifactOf(service, result)
    expect(JSON.parse(files['report.json']).result).toBe(c.result)
    expect(Object.keys(files).some(name => name.startsWith('build/'))).toBe(true)
    expect(result.post.exitCode).toBe(0)
    expect(result.leftovers).toEqual([])
  })
})
