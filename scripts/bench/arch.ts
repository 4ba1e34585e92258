// `vite-node scripts/bench/arch.ts`: QEMU start to SSH under TCG for each guest architecture on
// this x86_64 machine, through the VM stage itself (runVm: the same QEMU command lines the action
// runs): the x86_64 busybox fixture under SeaBIOS and under OVMF, and the aarch64 one (virt, AAVMF,
// -cpu max,pauth-impdef=on; `scripts/setup-lab.sh --aarch64`). Interleaved by configuration (the
// machine is shared); BENCH_REPS rounds (default 3). Prints, per configuration, seconds to SSH and
// the console's phases (kernel start, init, network), median (min–max).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StageContext } from '../../src/shared/context.js'
import { readIsoArchitecture } from '../../src/iso/iso-arch.js'
import { consoleLog } from '../../src/shared/log.js'
import type { BootResult } from '../../src/model/index.js'
import { Secrets } from '../../src/shared/secrets.js'
import { guestPlatform } from '../../src/vm/guest.js'
import { qemuBinary } from '../../src/vm/platform.js'
import { runVm } from '../../src/vm/stage.js'
import { fixtureIso } from '../../tests/helpers/lab.js'

const REPS = Number(process.env.BENCH_REPS || 3)
const CONFIGS = [
  { name: 'x86_64, SeaBIOS (pc)', attr: 'bootImage', firmware: 'bios' },
  { name: 'x86_64, OVMF (q35)', attr: 'bootImage', firmware: 'uefi' },
  { name: 'aarch64, AAVMF (virt)', attr: 'aarch64Image', firmware: 'bios' }
] as const

async function boot(config: (typeof CONFIGS)[number], dir: string): Promise<BootResult> {
  const fixture = await fixtureIso(config.attr)
  const read = readIsoArchitecture(fixture.iso)!
  const ctx: StageContext = {
    log: consoleLog(() => {}),
    secrets: new Secrets(),
    reportDir: join(dir, 'report'),
    tempDir: join(dir, 'tmp'),
    env: process.env,
    signal: new AbortController().signal
  }
  const result = await runVm(
    {
      iso: fixture.iso,
      guest: guestPlatform(read.arch, read.evidence),
      firmware: config.firmware,
      qemu: qemuBinary(read.arch),
      memoryMiB: 512,
      cpus: 2,
      kvm: 'off',
      bootTimeoutSeconds: 300,
      privateKeyPath: fixture.privateKeyPath,
      probes: [],
      testCommand: ''
    },
    ctx
  )
  return result.boot
}

function spread(values: number[]): string {
  if (!values.length) return '—'
  const sorted = [...values].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]
  return `${median.toFixed(1)} (${sorted[0].toFixed(1)}–${sorted[sorted.length - 1].toFixed(1)})`
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'biv-bench-arch-'))
  const boots = new Map<string, BootResult[]>(CONFIGS.map(c => [c.name, []]))
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const config of CONFIGS) {
        const result = await boot(config, join(root, `${rep}-${config.attr}-${config.firmware}`))
        boots.get(config.name)!.push(result)
        console.error(`${config.name}: ${result.bootSeconds ?? result.error} s`)
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  const at = (boot: BootResult, name: string): number[] => {
    const found = boot.timeline.find(m => m.name === name)
    return found ? [found.seconds] : []
  }
  console.log('| guest | boots passed | QEMU start to SSH | kernel starts | init | network up |')
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const [name, all] of boots) {
    // A boot that failed (under heavy load, TCG's timer check can panic a PC's kernel) is counted.
    const results = all.filter(b => b.status === 'passed')
    console.log(
      `| ${name} | ${results.length}/${all.length} | ${spread(results.map(b => b.bootSeconds ?? 0))} | ` +
        `${spread(results.flatMap(b => at(b, 'kernel')))} | ${spread(results.flatMap(b => at(b, 'init')))} | ` +
        `${spread(results.flatMap(b => at(b, 'network')))} |`
    )
  }
}

await main()
