// The main step in-process (src/main.ts): what it tells the runner — state for post, outputs,
// the job summary, failure — on a bad input, a passing run, a failing one, the runner's cancel,
// and input 'boot: false'. The runner is a fake that keeps what it was told, the pipeline's
// stages are stand-ins (tests/unit/stand-ins.ts), and the artifact service is absent (no
// ACTIONS_RUNTIME_TOKEN: every upload fails at once, as the tests expect). They cannot prove
// that @actions/core writes these as the runner reads them (GITHUB_STATE, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY), that a real SIGINT reaches main, nor what the real stages do: the e2e
// tests run the bundled action for that.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { run } from '../../src/main.js'
import type { Report } from '../../src/model/index.js'
import type { PipelineStages } from '../../src/pipeline/index.js'
import { STATE } from '../../src/runner/state.js'
import { BAD_INPUTS } from '../e2e/hardening-cases.js'
import { builtIso, fakeIso, fakeRunner, standInStages, type FakeRunner } from './stand-ins.js'

const scratch = mkdtempSync(join(tmpdir(), 'main-in-process-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const iso = fakeIso(scratch)

async function runMain(
  inputs: Record<string, string>,
  overrides: Partial<PipelineStages> | ((runner: FakeRunner) => Partial<PipelineStages>) = {}
) {
  const runner = fakeRunner({
    // arch given: the guest is x86_64 on any runner. compare off: no baseline lookup.
    inputs: { arch: 'x86_64', compare: 'off', ...inputs },
    env: { RUNNER_TEMP: mkdtempSync(join(scratch, 'runner-temp-')), PATH: '/usr/bin:/bin' }
  })
  const standIns = standInStages(
    iso,
    typeof overrides === 'function' ? overrides(runner) : overrides
  )
  await run(runner, standIns.stages)
  return { runner, standIns, report: deliveredReport(runner) }
}

/** report.json where main said the report is (state and output 'report-dir'). */
function deliveredReport(runner: FakeRunner): Report {
  const reportDir = runner.state[STATE.reportDir]
  expect(runner.outputs['report-dir']).toBe(reportDir)
  return JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report
}

describe('a bad input', () => {
  it('fails the step naming the input, and delivers a setup-failed report', async () => {
    const { runner, standIns, report } = await runMain({ cpus: 'many' })
    expect(runner.failures).toEqual([expect.stringContaining("Input 'cpus'")])
    expect(standIns.calls).toEqual([])
    expect(report).toMatchObject({ result: 'setup-failed', decidedBy: 'setup', complete: true })
    expect(report.stages.setup).toMatchObject({ status: 'failed' })
    expect(report.stages.setup?.detail).toContain("Input 'cpus'")
    // Delivered: the job summary says why, the outputs are set, post need not deliver it again.
    expect(runner.summaries).toHaveLength(1)
    expect(runner.summaries[0]).toContain("Input 'cpus'")
    expect(runner.outputs.result).toBe('setup-failed')
    expect(runner.state[STATE.delivered]).toBe('true')
    // The upload was tried (upload: failure) and its failure is a warning, not a second failure.
    expect(report.stages.upload?.status).toBe('warning')
    expect(runner.failures).toHaveLength(1)
  })

  // The e2e table (tests/e2e/hardening-inputs.test.ts runs it through the bundled action).
  it.each(BAD_INPUTS.map(c => [`${c.input}: ${JSON.stringify(c.value)}`, c] as const))(
    '%s: fails naming the input and what it accepts, before any stage',
    async (_, c) => {
      const { runner, standIns, report } = await runMain({ ...c.with, [c.input]: c.value })
      expect(standIns.calls).toEqual([])
      expect(runner.failures).toHaveLength(1)
      expect(runner.failures[0]).toContain(`Input '${c.input}'`)
      expect(runner.failures[0]).toMatch(c.accepts)
      expect(report.result).toBe('setup-failed')
      expect(report.setup?.error).toContain(`Input '${c.input}'`)
      expect(runner.summaries[0]).toContain(`Input '${c.input}'`)
    }
  )

  it('a bad artifact-name: the step fails naming it, the report is still delivered', async () => {
    const { runner, report } = await runMain({ 'artifact-name': 'bad/name' })
    expect(runner.failures).toEqual([expect.stringContaining("Input 'artifact-name'")])
    expect(report.result).toBe('setup-failed')
    expect(runner.state[STATE.delivered]).toBe('true')
  })
})

describe('a run', () => {
  it('passes: outputs set, state handed to post, no failure', async () => {
    const { runner, report, standIns } = await runMain({})
    expect(runner.failures).toEqual([])
    expect(report).toMatchObject({ result: 'passed', complete: true })
    expect(standIns.called()).toContain('runVm')
    expect(runner.outputs).toMatchObject({ result: 'passed', 'iso-path': iso })
    expect(runner.summaries).toHaveLength(1)
    // What post must clean up: the key's directory and setup's files.
    expect(existsSync(runner.state[STATE.keyDir])).toBe(true)
    expect(JSON.parse(runner.state[STATE.cleanupPaths])).toEqual(['/stand-in/work/nix.conf'])
    expect(runner.state[STATE.delivered]).toBe('true')
    expect(runner.state[STATE.cancelled]).toBeUndefined()
    // The run's private key is masked.
    expect(runner.secrets.join('\n')).toContain('PRIVATE KEY')
    // Later steps get the action's Nix first on PATH.
    expect(runner.paths).toContain('/stand-in/bin')
  })

  it("exports the action's Nix for later steps as soon as setup is done, before the build", async () => {
    let pathsAtBuild: string[] = []
    const { runner } = await runMain({}, runner => ({
      buildImage: async (_nix, request) => {
        pathsAtBuild = [...runner.paths]
        return builtIso(iso, request.context)
      }
    }))
    // A main killed during the build still leaves later steps the action's Nix.
    expect(pathsAtBuild).toEqual(['/stand-in/bin'])
    expect(runner.paths).toEqual(['/stand-in/bin'])
  })

  it('fails the step with the result when the boot fails', async () => {
    const { runner, report } = await runMain(
      {},
      {
        runVm: async () => ({
          boot: { status: 'failed', error: 'stand-in: no login', timeline: [], screenshots: [] },
          probes: []
        })
      }
    )
    expect(report.result).toBe('boot-failed')
    expect(runner.failures).toEqual(['boot-image-vm: boot-failed'])
    expect(runner.outputs.result).toBe('boot-failed')
  })

  it("the runner's cancel during the build: post is told at once, the report is cancelled", async () => {
    let stateWhenCancelled: Record<string, string> = {}
    const { runner, report, standIns } = await runMain({}, runner => ({
      buildImage: async (_nix, request, ctx) => {
        // The runner's SIGINT, as main hears it: the build's signal stops it.
        runner.cancel('SIGINT')
        stateWhenCancelled = { ...runner.state }
        expect(ctx.signal.aborted).toBe(true)
        return { ...builtIso(iso, request.context), status: 'build-failed', isoPath: undefined }
      }
    }))
    // Written before the report: a main killed now still leaves post knowing why.
    expect(stateWhenCancelled[STATE.cancelled]).toBe('true')
    expect(runner.warnings()).toContain(
      'Received SIGINT: stopping the current stage and writing the report.'
    )
    expect(standIns.called()).not.toContain('runVm')
    expect(report).toMatchObject({ result: 'build-failed', cancelled: true, complete: true })
    expect(runner.failures).toEqual(['boot-image-vm: build-failed'])
    expect(runner.state[STATE.delivered]).toBe('true')
  })
})

describe("input 'boot: false'", () => {
  it('the ISO is the product: its failed upload fails a passing run', async () => {
    const { runner, report, standIns } = await runMain({ boot: 'false' })
    expect(standIns.called()).not.toContain('runVm')
    expect(report.result).toBe('passed')
    expect(report.isoArtifact?.status).toBe('failed')
    expect(report.stages.boot?.detail).toContain('the ISO:')
    expect(runner.failures).toEqual([
      expect.stringMatching(/^boot-image-vm: the ISO was not uploaded: /)
    ])
  })
})
