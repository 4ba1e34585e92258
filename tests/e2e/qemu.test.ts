// The `qemu` input through the bundled action (dist/ under Node 24, as the runner runs it): a QEMU
// that no source can give fails the run before any build, the nix source boots with QEMU and OVMF
// from the flake's own nixpkgs (the local stand-in), and a provisioning that fails while the image
// builds stops the build and leaves no process behind.
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../../src/model/index.js'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  artifactOf,
  startResultsService,
  LAB_BOOT_INPUTS
} from '../helpers/e2e.js'
import { addFixturePackage, makeFixtureFlake } from '../helpers/lab.js'
import { makeStandinFlake } from '../helpers/nixpkgs-standin.js'

let service: FakeResultsService
const runs: ActionRun[] = []
const root = mkdtempSync(join(tmpdir(), 'qemu-e2e-'))

beforeAll(async () => {
  service = await startResultsService()
})
afterAll(async () => {
  await service.close()
  await Promise.all(runs.map(run => run.cleanup()))
  rmSync(root, { recursive: true, force: true })
})

/** A PATH with every tool of /usr/bin but QEMU, as on a runner (/bin is /usr/bin here). */
function pathWithoutQemu(): string {
  const bin = join(root, 'bin')
  mkdirSync(bin, { recursive: true })
  const names = spawnSync('ls', ['/usr/bin'], { encoding: 'utf8' }).stdout.split('\n')
  for (const name of names.filter(n => n && !n.startsWith('qemu-system'))) {
    symlinkSync(join('/usr/bin', name), join(bin, name))
  }
  return `${bin}:/usr/sbin`
}

async function run(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      ...LAB_BOOT_INPUTS,
      probes: BUSYBOX_PROBES,
      ...inputs
    },
    env: { ...LAB_ACTION_ENV, ...env },
    resultsService: service
  })
  runs.push(result)
  return result
}

describe('the qemu input through the bundled action', () => {
  it('qemu: path with no QEMU on PATH is setup-failed before any build, naming the three ways', async () => {
    const result = await run(
      { flake: makeFixtureFlake(), qemu: 'path' },
      { PATH: pathWithoutQemu() }
    )
    expect(result.outputs.result).toBe('setup-failed')
    const files = await artifactOf(service, result)
    const report = JSON.parse(files['report.json']) as Report
    expect(report.decidedBy).toBe('qemu')
    expect(report.builds).toEqual([])
    expect(report.stages.build).toBeUndefined()
    expect(Object.keys(files).filter(name => name.startsWith('build/'))).toEqual([])
    expect(report.qemu?.error).toMatch(/^No source could provide QEMU \(input 'qemu' is 'path'\)/)
    for (const way of ['- path: ', '- nix: ', '- apt: ']) expect(report.qemu?.error).toContain(way)
    expect(result.summary).toContain('No QEMU to boot the image with')
    expect(result.summary).toContain('sudo apt-get install qemu-system-x86')
    expect(result.leftovers).toEqual([])
  })

  it('qemu: nix boots under UEFI with QEMU and OVMF from the flake’s nixpkgs (the stand-in)', async () => {
    const { flake } = makeStandinFlake()
    const result = await run({ flake, qemu: 'nix', firmware: 'uefi' })
    expect(result.outputs.result).toBe('passed')
    const files = await artifactOf(service, result)
    const report = JSON.parse(files['report.json']) as Report
    expect(report.qemu).toMatchObject({ status: 'ready', mode: 'nix', source: 'nix' })
    expect(report.qemu?.binary).toMatch(
      /^\/nix\/store\/[a-z0-9]{32}-qemu-standin\/bin\/qemu-system-x86_64$/
    )
    expect(report.qemu?.ovmf?.code).toMatch(/-OVMF-standin-fd\/FV\/OVMF_CODE\.fd$/)
    // The boot started the provisioned binary, with the provisioned firmware.
    const args = files['vm/qemu-args.txt'].split('\n')
    expect(args[0]).toBe(report.qemu?.binary)
    expect(args.join('\n')).toContain(`file=${report.qemu?.ovmf?.code}`)
    expect(report.stages.qemu?.status).toBe('passed')
    expect(result.summary).toMatch(/- QEMU: .* from \*\*nix\*\* at `\/nix\/store\//)
    expect(result.leftovers).toEqual([])
  })

  it('a provisioning that fails while the image builds stops the build (setup-failed, nothing left)', async () => {
    const { flake } = makeStandinFlake({ brokenQemu: true })
    // An image whose build would take ten minutes: the run must not wait for it. The odd number is
    // this test's alone: the check below looks machine-wide, and other files run beside this one.
    addFixturePackage(
      flake,
      'slowImage',
      `drv { name = "slow-image"; nonce = "${randomBytes(8).toString('hex')}"; args = [ "-c" "sleep 613.7" ]; }`
    )
    const result = await run({ flake, image: 'slowImage', qemu: 'nix', cache: 'false' })
    expect(result.outputs.result).toBe('setup-failed')
    const files = await artifactOf(service, result)
    const report = JSON.parse(files['report.json']) as Report
    expect(report.decidedBy).toBe('qemu')
    expect(report.qemu?.status).toBe('failed')
    expect(report.qemu?.attempts.find(a => a.source === 'nix')?.reason).toMatch(
      /qemu_kvm fails on purpose|failed/
    )
    expect(report.stages.build).toMatchObject({ status: 'skipped' })
    expect(report.stages.build?.detail).toMatch(/stopped: no source could provide QEMU/)
    expect(report.builds).toEqual([])
    expect(result.leftovers).toEqual([])
    expect(spawnSync('pgrep', ['-f', 'sleep 613.7'], { encoding: 'utf8' }).stdout.trim()).toBe('')
  })
})
