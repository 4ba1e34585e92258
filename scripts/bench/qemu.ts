// `vite-node scripts/bench/qemu.ts`: what QEMU's provisioning and the env diff cost the time to
// verdict now that they run beside the build (issue 13). Whole pipeline runs, in-process, on the
// offline fixture (build + TCG boot), interleaved by configuration (the machine is shared):
//
//   path       qemu: path, no devshell (the baseline)
//   nix        qemu: nix from the nixpkgs stand-in (warm: its store paths exist after the first run)
//   nix-slow   qemu: nix whose qemu_kvm takes 10 s to build, fresh each run (a stand-in for
//              substituting nixpkgs' QEMU on a fresh runner)
//   env-diff   qemu: path, devshell = a shell whose input takes 8 s to build, fresh each run (a
//              stand-in for substituting a big devshell's closure)
//
// Prints, per configuration: time to verdict, QEMU ready (from the start), how long the boot
// waited for QEMU, and the env diff's own duration. BENCH_REPS (default 3) rounds.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StageContext } from '../../src/shared/context.js'
import { parseInputs, type InputName } from '../../src/inputs/index.js'
import { consoleLog } from '../../src/shared/log.js'
import type { Report } from '../../src/model/index.js'
import { runPipeline } from '../../src/pipeline/index.js'
import { Secrets } from '../../src/shared/secrets.js'
import { addFixturePackage, labNixEnv, makeFixtureFlake } from '../../tests/helpers/lab.js'
import { makeStandinFlake } from '../../tests/helpers/nixpkgs-standin.js'

const REPS = Number(process.env.BENCH_REPS || 3)
const CONFIGS = ['path', 'nix', 'nix-slow', 'env-diff'] as const
type Config = (typeof CONFIGS)[number]

function flakeFor(config: Config): string {
  if (config === 'nix') return makeStandinFlake().flake
  if (config === 'nix-slow') return makeStandinFlake({ slowQemu: true }).flake
  const flake = makeFixtureFlake()
  if (config === 'env-diff') {
    const nonce = randomBytes(8).toString('hex')
    addFixturePackage(
      flake,
      'slowShell',
      `drv { name = "slow-shell"; slowInput = drv { name = "slow-shell-input"; nonce = "${nonce}"; args = [ "-c" "sleep 8; echo > $out" ]; }; args = [ "-c" "exit 1" ]; }`
    )
  }
  return flake
}

interface Sample {
  verdictMs: number
  result: string
  qemuReadyMs?: number
  bootWaitedMs?: number
  envDiffMs?: number
  buildMs?: number
  bootMs?: number
}

async function once(config: Config): Promise<Sample> {
  const flake = flakeFor(config)
  const raw: Partial<Record<InputName, string>> = {
    flake,
    image: 'bootImage',
    devshell: config === 'env-diff' ? 'slowShell' : '',
    qemu: config.startsWith('nix') ? 'nix' : 'path',
    memory: '512',
    'boot-timeout': '240',
    cache: 'false',
    probes: 'kernel: uname -a'
  }
  const inputs = parseInputs(name => raw[name] ?? '')
  const dir = mkdtempSync(join(tmpdir(), 'bench-qemu-'))
  const ctx: StageContext = {
    log: consoleLog(() => {}),
    secrets: new Secrets(),
    reportDir: join(dir, 'report'),
    tempDir: join(dir, 'work'),
    env: labNixEnv(),
    signal: new AbortController().signal
  }
  const started = performance.now()
  try {
    const report: Report = await runPipeline(inputs, ctx)
    return {
      verdictMs: performance.now() - started,
      result: report.result,
      qemuReadyMs: report.qemu?.readyAfterMs,
      bootWaitedMs: report.qemu?.bootWaitedMs,
      envDiffMs: report.stages['env-diff']?.durationMs,
      buildMs: report.stages.build?.durationMs,
      bootMs: report.stages.boot?.durationMs
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const seconds = (values: (number | undefined)[]): string => {
  const known = values.filter((v): v is number => v !== undefined)
  if (!known.length) return '—'
  const s = (ms: number) => (ms / 1000).toFixed(1)
  return `${s(median(known))} (${s(Math.min(...known))}–${s(Math.max(...known))})`
}

const samples = new Map<Config, Sample[]>(CONFIGS.map(c => [c, []]))
for (let round = 0; round < REPS; round++) {
  const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length])
  for (const config of order) {
    const sample = await once(config)
    if (sample.result !== 'passed') throw new Error(`${config}: ${sample.result}`)
    samples.get(config)!.push(sample)
    console.error(`round ${round + 1} ${config}: ${(sample.verdictMs / 1000).toFixed(1)} s`)
  }
}

console.log(
  `\nQEMU provisioning and the env diff beside the build: median (min–max) s, ${REPS} runs each`
)
console.log(
  '| Configuration | Time to verdict | QEMU ready after | Boot waited for QEMU | Build | Boot stage | Env diff (beside) |'
)
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const config of CONFIGS) {
  const list = samples.get(config)!
  console.log(
    `| ${config} | ${seconds(list.map(s => s.verdictMs))} | ${seconds(list.map(s => s.qemuReadyMs))} | ${seconds(
      list.map(s => s.bootWaitedMs)
    )} | ${seconds(list.map(s => s.buildMs))} | ${seconds(list.map(s => s.bootMs))} | ${seconds(list.map(s => s.envDiffMs))} |`
  )
}
