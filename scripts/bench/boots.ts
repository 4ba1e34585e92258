// Part of `npm run bench` (scripts/bench.ts, the runner): boots of the fixture through the action
// (in several configurations) and the bare script, in rounds, interleaved.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Report } from '../../src/model/index.js'
import {
  parseActionInputs,
  runScripts,
  type ActionRun,
  type ActionScripts
} from '../../tests/helpers/action-runner.js'
import {
  startFakeResultsService,
  type FakeResultsService
} from '../../tests/helpers/fake-results-service.js'
import {
  addLayeredImage,
  deleteStorePaths,
  freePort,
  labNixEnv,
  makeFixtureFlake,
  REPO_ROOT
} from '../../tests/helpers/lab.js'
import { timed } from './processes.js'
import { say } from './table.js'
import { BOOT_REPS, CPUS, DEVSHELL, LAB_ENV, MEMORY_MIB, PROBES } from './config.js'

export type Variant =
  'action' | 'action-kvm-off' | 'bare' | 'action-env-diff' | 'cache-cold' | 'cache-warm'

export interface BootSample {
  variant: Variant
  round: number
  ok: boolean
  /** Main + post step (the action) or the script (bare), wall clock. */
  durationMs: number
  /** The main step alone: until the verdict and the upload (the action only). */
  mainMs?: number
  /** Seconds from QEMU start to SSH running a command. */
  readySeconds?: number
  /** Seconds from QEMU start to the console's "sshd listening" line, as the action saw it. */
  sshdSeconds?: number
  /** Seconds from QEMU start to the kernel's first console line ("Linux version"). */
  kernelSeconds?: number
  kvmCheckMs?: number
  envDiffMs?: number
  setupMs?: number
  buildMs?: number
  cache?: Report['cache']
  /** The image's store path (the action only). */
  outPath?: string
  error?: string
}

export const declaredInputs = Object.keys(
  parseActionInputs(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8'))
)

/** Only the inputs this action.yml declares (the harness refuses unknown ones). */
export function declared(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).filter(([name]) => declaredInputs.includes(name))
  )
}

export function actionInputs(flake: string, variant: Variant): Record<string, string> {
  const cached = variant === 'cache-cold' || variant === 'cache-warm'
  return declared({
    flake,
    // The cache pair's image takes its key at boot (its .drv does not change with the key).
    image: cached ? 'layeredImage' : 'bootImage',
    devshell: variant === 'action-env-diff' ? DEVSHELL : '',
    kvm: variant === 'action' ? 'auto' : 'off',
    memory: String(MEMORY_MIB),
    cpus: String(CPUS),
    'boot-timeout': '300',
    probes: PROBES.map(([name, command]) => `${name}: ${command}`).join('\n'),
    upload: 'always',
    cache: cached ? 'true' : 'false',
    compare: 'off'
  })
}

export function readReport(run: ActionRun): Report | undefined {
  const dir = run.outputs['report-dir']
  if (!dir || !existsSync(join(dir, 'report.json'))) return undefined
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report
}

/** The "sshd listening" console line's seconds: the report's timeline (ms), else the log prefix. */
export function sshdSeconds(report: Report | undefined, stdout: string): number | undefined {
  const milestone = report?.vm?.boot.timeline.find(m => /sshd listening/.test(m.line ?? ''))
  if (milestone) return milestone.seconds
  const logged = /\[vm \+([\d.]+)s\] [^\n]*sshd listening/.exec(stdout)
  return logged ? Number(logged[1]) : undefined
}

export async function runActionSample(
  scripts: ActionScripts,
  flake: string,
  variant: Variant,
  round: number,
  service: FakeResultsService
): Promise<BootSample> {
  const run = await runScripts(scripts, {
    inputs: actionInputs(flake, variant),
    env: LAB_ENV,
    resultsService: service,
    timeoutMs: 10 * 60_000
  })
  try {
    const report = readReport(run)
    const ok = run.outputs.result === 'passed' && run.main.exitCode === 0
    const boot = report?.vm?.boot
    return {
      variant,
      round,
      ok,
      durationMs: run.main.durationMs + run.post.durationMs,
      mainMs: run.main.durationMs,
      readySeconds: boot?.bootSeconds,
      sshdSeconds: sshdSeconds(report, run.main.stdout),
      kernelSeconds: boot?.timeline.find(m => m.name === 'kernel')?.seconds,
      kvmCheckMs: boot?.kvmCheck?.durationMs,
      envDiffMs: report?.stages['env-diff']?.durationMs,
      setupMs: report?.stages.setup?.durationMs,
      buildMs: report?.stages.build?.durationMs,
      cache: report?.cache,
      outPath: report?.builds[0]?.outPath,
      error: ok
        ? undefined
        : `result ${run.outputs.result ?? '?'}, exit ${run.main.exitCode}: ${(report?.error ?? run.main.stderr).slice(-300)}`
    }
  } finally {
    await run.cleanup()
  }
}

export async function runBareSample(flake: string, round: number): Promise<BootSample> {
  const work = mkdtempSync(join(tmpdir(), 'bench-bare-'))
  try {
    const port = await freePort()
    const args = [
      join(REPO_ROOT, 'scripts', 'bench', 'bare.sh'),
      flake,
      'bootImage',
      String(MEMORY_MIB),
      String(CPUS),
      String(port),
      work,
      ...PROBES.map(([, command]) => command)
    ]
    const run = await timed('bash', args, { env: labNixEnv(), timeoutMs: 10 * 60_000 })
    const ready = /bare: ssh ready after ([\d.]+) s/.exec(run.stdout)
    const mark = (name: string): number | undefined => {
      const found = new RegExp(`bare: ${name} line after ([\\d.]+) s`).exec(run.stdout)
      return found ? Number(found[1]) : undefined
    }
    const ok = run.code === 0 && existsSync(join(work, 'logs.tar.gz'))
    return {
      variant: 'bare',
      round,
      ok,
      durationMs: run.durationMs,
      readySeconds: ready ? Number(ready[1]) : undefined,
      sshdSeconds: mark('sshd'),
      kernelSeconds: mark('kernel'),
      buildMs: (() => {
        const build = /bare: key and build took ([\d.]+) s/.exec(run.stdout)
        return build ? Number(build[1]) * 1000 : undefined
      })(),
      error: ok ? undefined : `exit ${run.code}: ${run.stderr.slice(-300)}`
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** Rounds of boots; each round runs every unit once, starting one later than the round before. */
export async function runBoots(
  scripts: ActionScripts,
  flake: string,
  units: Variant[][]
): Promise<{ samples: BootSample[]; cacheNotWired?: string }> {
  const samples: BootSample[] = []
  const service = await startFakeResultsService()
  let cacheNotWired: string | undefined
  try {
    for (let round = 1; round <= BOOT_REPS; round++) {
      const order = units.map((_, i) => units[(i + round - 1) % units.length])
      for (const unit of order) {
        if (unit[0] === 'cache-cold' && cacheNotWired) continue
        // A cache pair gets a results service and an image of its own: the cold run finds
        // nothing and builds, the warm run finds what the cold run's post step saved, on a store
        // that no longer has the image or what it was built from (as on a fresh runner).
        const pair = unit[0] === 'cache-cold'
        const pairService = pair ? await startFakeResultsService() : undefined
        const pairFlake = pair ? makeFixtureFlake() : flake
        const payload = pair ? addLayeredImage(pairFlake, 'bootKeyImage') : undefined
        try {
          for (const variant of unit) {
            const cold = samples.at(-1)
            if (variant === 'cache-warm' && cold?.outPath && payload) {
              deleteStorePaths([cold.outPath, payload])
            }
            const started = Date.now()
            say(`round ${round}/${BOOT_REPS}: ${variant} …`)
            const sample =
              variant === 'bare'
                ? await runBareSample(flake, round)
                : await runActionSample(scripts, pairFlake, variant, round, pairService ?? service)
            samples.push(sample)
            say(
              `round ${round}/${BOOT_REPS}: ${variant} ${sample.ok ? 'ok' : 'FAILED'} in ` +
                `${((Date.now() - started) / 1000).toFixed(1)} s` +
                (sample.error ? ` (${sample.error})` : '')
            )
            if (variant === 'cache-cold' && !sample.cache) {
              cacheNotWired =
                "report.json has no 'cache' field: the image cache is not wired into this dist"
              break
            }
          }
        } finally {
          await pairService?.close()
        }
      }
    }
  } finally {
    await service.close()
  }
  return { samples, cacheNotWired }
}
