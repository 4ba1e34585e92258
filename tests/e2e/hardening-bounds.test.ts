// A guest that prints without end costs the action a bounded amount of memory and artifact
// (issue 22, item 4). One passing boot of the busybox fixture through the bundled action, with a
// probe that prints 64 MiB (`head -c 67108864 /dev/zero | tr '\0' a`, over the real SSH session
// into the guest; the issue's own case, kept whole before): the run completes, probes/<name>.txt
// keeps the first 8 MiB of stdout and says where it was cut. Memory is a figure, not a test: the
// `memory` bench figure measures peak RSS (docs/benchmarks-apart.md). Not 1 GiB here: SSH out of a TCG guest moves ~0.9 MiB/s on this
// machine (measured: 440 MB in 11 min), so 1 GiB would take 20 min; the 1 GiB figure is the
// memory benchmark's (scripts/bench/figures/memory.ts, the same handler fed from a generator).
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import { BUSYBOX_PROBES, LAB_ACTION_ENV, LAB_INPUTS, jobLog } from '../helpers/e2e.js'
import { makeFixtureFlake } from '../helpers/lab.js'
import { tallyCases } from '../helpers/reliability-tally.js'

tallyCases('Bounds')

const MiB = 1024 ** 2

let run: ActionRun

beforeAll(async () => {
  run = await runAction({
    inputs: {
      ...LAB_INPUTS,
      flake: makeFixtureFlake(),
      image: 'bootImage',
      devshell: '',
      cache: 'false',
      memory: '512',
      'boot-timeout': '240',
      probes: [BUSYBOX_PROBES, "huge [timeout=600]: head -c 67108864 /dev/zero | tr '\\0' a"].join(
        '\n'
      )
    },
    env: LAB_ACTION_ENV
  })
}, 900_000)

afterAll(async () => {
  await run?.cleanup()
})

describe('a probe printing 64 MiB', () => {
  it('the run completes, the probe passes', () => {
    expect(run.outputs.result, jobLog(run).slice(-4000)).toBe('passed')
    const report = JSON.parse(
      readFileSync(join(run.outputs['report-dir'], 'report.json'), 'utf8')
    ) as { vm: { probes: { name: string; exitCode: number | null; timedOut: boolean }[] } }
    const huge = report.vm.probes.find(probe => probe.name === 'huge')
    expect(huge).toMatchObject({ exitCode: 0, timedOut: false })
  })

  it('probes/huge.txt holds its first 8 MiB and says where it was cut', () => {
    const file = join(run.outputs['report-dir'], 'probes', 'huge.txt')
    expect(statSync(file).size).toBeLessThan(8 * MiB + 4096)
    const text = readFileSync(file, 'utf8')
    expect(text).toContain(`${'a'.repeat(1000)}`)
    expect(text).toContain('… cut at 8.0 MiB of 64.0 MiB')
  })
})
