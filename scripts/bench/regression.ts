// The regression view's figures (issue 15): unchanged runs of the busybox fixture in a row through
// the bundled action (npm run bundle first), a CPU hog on one core during every other run, then the
// same image with 12 s more in init. Prints how many unchanged runs were called slower (false
// positives), by the window and by the old one-run rule (+slowdown-threshold% and 1 s over the
// previous run), and whether the slow run was flagged and in which phase. Prints; asserts nothing.
// Run: npx vite-node scripts/bench/regression.ts [unchanged runs, default 6]
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Comparison, Report } from '../../src/model/index.js'
import { runAction, type ActionRun } from '../../tests/helpers/action-runner.js'
import { startFakeResultsService } from '../../tests/helpers/fake-results-service.js'
import {
  LAB_KERNEL_DIR,
  LAB_NIX_CONF_DIR,
  LAB_ROOTFS_DIR,
  makeFixtureFlake
} from '../../tests/helpers/lab.js'

// As tests/helpers/e2e.ts's LAB_ACTION_ENV (that module imports vitest, which needs its runner).
const LAB_ACTION_ENV = {
  NIX_CONF_DIR: LAB_NIX_CONF_DIR,
  BOOT_IMAGE_VM_LAB_KERNEL: LAB_KERNEL_DIR,
  BOOT_IMAGE_VM_LAB_ROOTFS: LAB_ROOTFS_DIR
}

const UNCHANGED = Number(process.argv[2] ?? 6)
const THRESHOLD = 25
const service = await startFakeResultsService()
const flake = makeFixtureFlake()
const runs: ActionRun[] = []
let runId = 500

function setVariant(variant: string): void {
  const path = join(flake, 'flake.nix')
  const text = readFileSync(path, 'utf8').replace(
    /^ {8}bootImage = .*$/m,
    `        bootImage = iso { name = "boot-image-vm-fixture.iso"; variant = "${variant}"; };`
  )
  writeFileSync(path, text)
  spawnSync('git', ['commit', '-q', '-am', `variant ${variant}`], { cwd: flake })
}

/** One run; with hog, a busy loop pinned to core 0 that timeout(1) ends by itself at the latest. */
async function run(hog: boolean): Promise<{ report: Report; comparison: Comparison }> {
  const busy = hog
    ? spawn(
        'timeout',
        ['--signal=KILL', '300', 'taskset', '-c', '0', 'sh', '-c', 'while :; do :; done'],
        {
          stdio: 'ignore'
        }
      )
    : undefined
  try {
    const result = await runAction({
      inputs: {
        flake,
        image: 'bootImage',
        memory: '512',
        'boot-timeout': '240',
        probes: 'kernel: uname -a',
        upload: 'never'
      },
      env: { ...LAB_ACTION_ENV, GITHUB_RUN_ID: String(++runId) },
      resultsService: service
    })
    runs.push(result)
    const report = JSON.parse(
      readFileSync(join(result.outputs['report-dir'], 'report.json'), 'utf8')
    ) as Report
    return { report, comparison: report.comparison! }
  } finally {
    if (busy?.pid && busy.exitCode === null) process.kill(busy.pid, 'SIGTERM')
  }
}

const boots: number[] = []
let windowFalse = 0
let oldRuleFalse = 0
let judged = 0
try {
  for (let i = 0; i < UNCHANGED; i++) {
    const hog = i % 2 === 1
    const { comparison } = await run(hog)
    const boot = comparison.boot
    const seconds = boot?.seconds ?? NaN
    const previous = boots.at(-1)
    const oldRule =
      previous !== undefined &&
      seconds > previous * (1 + THRESHOLD / 100) &&
      seconds - previous >= 1
    if (boot && boot.verdict !== 'too-little-history') judged++
    if (boot?.verdict === 'slower') windowFalse++
    if (oldRule) oldRuleFalse++
    boots.push(seconds)
    console.log(
      `unchanged run ${i + 1}${hog ? ' (CPU hog)' : ''}: ${seconds} s, ${boot?.verdict}${oldRule ? ' (old rule: slower)' : ''}`
    )
  }
  setVariant('slowinit')
  const { comparison } = await run(false)
  const slow = comparison.boot
  console.log(`\n+12 s in init: ${slow?.sentence}`)
  console.log('\nfigures')
  console.log(
    `  false positives, window of recent runs: ${windowFalse} of ${UNCHANGED} unchanged runs (${judged} judged, ${UNCHANGED - judged} too little history)`
  )
  console.log(
    `  false positives, old rule (+${THRESHOLD}% and 1 s over the previous run): ${oldRuleFalse} of ${UNCHANGED - 1}`
  )
  console.log(`  unchanged boots: ${Math.min(...boots)}–${Math.max(...boots)} s`)
  console.log(
    `  +12 s in init: ${slow?.verdict === 'slower' ? `flagged on its first slow run, in ${slow.slowerPhases?.join(', ')}` : `NOT flagged (${slow?.verdict})`}; boot ${slow?.seconds} s`
  )
} finally {
  await service.close()
  await Promise.all(runs.map(r => r.cleanup()))
}
