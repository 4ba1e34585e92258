// `npx vite-node scripts/bench/cache-reuse.ts` (after `npm run bundle`): the image cache on an
// image that bakes the run's key (fixture bakedKeyImage: the ISO bakes the key and depends on
// cacheExpensive, ~20 s of sha256, and on cacheServed, from a file:// substituter; see
// tests/helpers/cache-reuse.ts). Through the bundled action, per round, fresh derivations each:
//   off   cache: false                          (time to verdict without the cache)
//   cold  cache: true, no entry yet             (builds, then post saves)
//   warm  cache: true, a fresh store            (the expensive path restored)
//   vain  cache: true, new derivations          (the restore key brings cold's entry, unused)
// Prints the figures; asserts nothing. BENCH_REPS rounds (default 1). The runs end after the
// build (boot-timeout 5): a boot costs the same with and without the cache.
import { existsSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import type { Report } from '../../src/model/index.js'
import { runAction, type ActionRun } from '../../tests/helpers/action-runner.js'
import { setUpBakedKeyImage, type BakedKeySetup } from '../../tests/helpers/cache-reuse.js'
import {
  startFakeResultsService,
  type FakeResultsService
} from '../../tests/helpers/fake-results-service.js'
import {
  deleteStorePaths,
  LAB_KERNEL_DIR,
  LAB_NIX_CONF_DIR,
  LAB_ROOTFS_DIR,
  makeFixtureFlake
} from '../../tests/helpers/lab.js'

// As tests/helpers/e2e.ts's LAB_ACTION_ENV (which imports vitest, so not here).
const LAB_ACTION_ENV = {
  NIX_CONF_DIR: LAB_NIX_CONF_DIR,
  BOOT_IMAGE_VM_LAB_KERNEL: LAB_KERNEL_DIR,
  BOOT_IMAGE_VM_LAB_ROOTFS: LAB_ROOTFS_DIR
}

const ROUNDS = Number(process.env.BENCH_REPS || 1)
type Variant = 'off' | 'cold' | 'warm' | 'vain'

interface Sample {
  variant: Variant
  mainMs: number
  buildStageMs: number
  report?: Report
}

async function runOnce(
  setup: BakedKeySetup,
  service: FakeResultsService,
  variant: Variant
): Promise<Sample> {
  const run: ActionRun = await runAction({
    inputs: {
      flake: setup.flake,
      image: 'bakedKeyImage',
      // No devshell: its environment would be a (tiny, used) path of every entry.
      devshell: '',
      memory: '512',
      'boot-timeout': '5',
      probes: 'kernel: uname -a',
      cache: variant === 'off' ? 'false' : 'true',
      compare: 'off',
      'extra-nix-conf': setup.extraNixConf
    },
    env: { ...LAB_ACTION_ENV, ...setup.actionEnv },
    resultsService: service
  })
  try {
    const file = join(run.outputs['report-dir'] ?? '', 'report.json')
    const report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Report) : undefined
    if (report?.builds[0]?.status !== 'passed') {
      throw new Error(`${variant}: the build did not pass: ${run.main.stdout.slice(-2000)}`)
    }
    return {
      variant,
      mainMs: run.main.durationMs,
      buildStageMs: report.stages.build?.durationMs ?? 0,
      report
    }
  } finally {
    await run.cleanup()
  }
}

/** A fresh runner: the image, the expensive path and the served path leave the store. */
function freshStore(setup: BakedKeySetup, sample: Sample): void {
  const paths = [sample.report?.builds[0]?.outPath, setup.expensive, setup.served]
  deleteStorePaths(paths.filter((p): p is string => Boolean(p) && existsSync(p as string)))
}

const s = (ms: number | undefined): string => `${((ms ?? 0) / 1000).toFixed(1)} s`

async function main(): Promise<void> {
  console.log(
    `load average at the start: ${loadavg()
      .map(n => n.toFixed(2))
      .join(', ')}`
  )
  for (let round = 1; round <= ROUNDS; round++) {
    const service = await startFakeResultsService()
    try {
      const flake = makeFixtureFlake()
      const off = setUpBakedKeyImage(flake)
      const offSample = await runOnce(off, service, 'off')
      const setup = setUpBakedKeyImage(flake)
      const cold = await runOnce(setup, service, 'cold')
      freshStore(setup, cold)
      const warm = await runOnce(setup, service, 'warm')
      // New derivations for the same image: the restore key finds cold's entry, none of it used.
      const vain = await runOnce(setUpBakedKeyImage(flake), service, 'vain')
      const evals = warm.report?.cache?.evaluations
      const lines = [
        `round ${round}:`,
        `  time to verdict (main), cache off:            ${s(offSample.mainMs)} (build stage ${s(offSample.buildStageMs)})`,
        `  time to verdict (main), cache on, no entry:   ${s(cold.mainMs)} (build stage ${s(cold.buildStageMs)}); save: ${cold.report?.cache?.save?.detail ?? 'in post'}`,
        `  time to verdict (main), cache on, restored:   ${s(warm.mainMs)} (build stage ${s(warm.buildStageMs)}; restore ${s(warm.report?.cache?.restoreMs)}, ${warm.report?.cache?.bytesRestored} B)`,
        `    ${warm.report?.cache?.status}: ${warm.report?.cache?.detail}`,
        `  evaluations (warm): run key ${evals?.runKeyMs} ms, throw-away key ${evals?.otherKeyMs} ms, both at once ${evals?.bothMs} ms: the second costs ${(evals?.bothMs ?? 0) - (evals?.runKeyMs ?? 0)} ms of wall time`,
        `  restore in vain: ${s(vain.report?.cache?.restoreMs)} for ${vain.report?.cache?.bytesRestored ?? 0} B, then built as without the cache (main ${s(vain.mainMs)})`,
        `    ${vain.report?.cache?.status}: ${vain.report?.cache?.detail}`
      ]
      console.log(lines.join('\n'))
    } finally {
      await service.close()
    }
  }
  console.log(
    `load average at the end: ${loadavg()
      .map(n => n.toFixed(2))
      .join(', ')}`
  )
}

await main()
