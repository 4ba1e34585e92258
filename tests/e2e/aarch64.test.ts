// An aarch64 image through the bundled action on this x86_64 machine: the fixture's aarch64Image
// (built here from Debian's arm64 packages: `scripts/setup-lab.sh --aarch64`) is read for its
// architecture after the build, QEMU is provisioned anew for it (qemu-system-aarch64 and AAVMF, the
// first provisioning having guessed the runner's own), it boots under TCG through UEFI, SSH
// answers, the probes and the test command pass; and `kvm: require` fails fast and says why.
// What cannot be shown here: KVM on an arm64 runner (docs/examples/arm64.yml is that job).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  LAB_INPUTS,
  artifactOf,
  jobLog,
  startResultsService
} from '../helpers/e2e.js'
import { AARCH64_LAB_MISSING, makeFixtureFlake } from '../helpers/lab.js'

let service: FakeResultsService
let flake: string
const runs: ActionRun[] = []

if (AARCH64_LAB_MISSING) console.warn(`tests/e2e/aarch64.test.ts skipped: ${AARCH64_LAB_MISSING}`)

beforeAll(async () => {
  if (AARCH64_LAB_MISSING) return
  service = await startResultsService()
  flake = makeFixtureFlake()
})
afterAll(async () => {
  await service?.close()
  await Promise.all(runs.map(run => run.cleanup()))
})

async function run(inputs: Record<string, string>): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      ...LAB_INPUTS,
      flake,
      image: 'aarch64Image',
      memory: '512',
      probes: `${BUSYBOX_PROBES}\nmachine: uname -m`,
      ...inputs
    },
    env: LAB_ACTION_ENV,
    resultsService: service
  })
  runs.push(result)
  return result
}

describe.skipIf(AARCH64_LAB_MISSING)(
  'an aarch64 image through the bundled action on x86_64',
  () => {
    it('boots it emulated under TCG with UEFI, probes it, runs the test command', async () => {
      const result = await run({
        'test-command':
          'ssh -i "$BOOT_IMAGE_VM_SSH_KEY" -p "$BOOT_IMAGE_VM_SSH_PORT" -o StrictHostKeyChecking=no ' +
          '-o UserKnownHostsFile=/dev/null -o BatchMode=yes root@127.0.0.1 uname -m'
      })
      const log = jobLog(result)
      expect(result.outputs.result, log.slice(-4000)).toBe('passed')
      expect(result.outputs.accel).toBe('tcg')
      expect(log).toMatch(
        /The image is aarch64 \(EFI\/BOOT\/BOOTAA64\.EFI in the El Torito UEFI image\)/
      )
      expect(
        result.annotations.some(
          a =>
            a.level === 'warning' &&
            /aarch64 guest cannot use KVM on an x86_64 host/.test(a.message)
        )
      ).toBe(true)
      expect(result.summary).toMatch(
        /Guest: \*\*aarch64\*\*.*emulated on an x86_64 host: expect ~10× slower/
      )

      const files = await artifactOf(service, result)
      const report = JSON.parse(files['report.json'])
      expect(report.qemu).toMatchObject({ status: 'ready', arch: 'aarch64' })
      expect(report.qemu.binary).toMatch(/qemu-system-aarch64$/)
      expect(report.qemu.ovmf.code).toMatch(/AAVMF_CODE\.fd$/)
      expect(report.vm.boot.guest).toMatchObject({ arch: 'aarch64', emulated: true })
      expect(report.vm.boot.kvmCheck).toBeUndefined()
      expect(files['vm/serial.log']).toContain('boot-image-vm: ready')
      expect(files['probes/machine.txt']).toMatch(/^aarch64$/m)
      expect(files['test/output.log']).toMatch(/^aarch64$/m)
      expect(result.leftovers).toEqual([])
      expect(result.post.exitCode).toBe(0)
      console.log(
        `aarch64 fixture through the action: SSH after ${result.outputs['boot-seconds']} s`
      )
    })

    it('fails fast under kvm: require, naming both architectures, without starting QEMU', async () => {
      const result = await run({ kvm: 'require' })
      expect(result.outputs.result).toBe('boot-failed')
      const error = result.annotations.find(a => a.level === 'error')?.message ?? ''
      expect(error).toMatch(
        /input 'kvm' is 'require', but an aarch64 guest cannot use KVM on an x86_64 host.*ubuntu-24\.04-arm/
      )
      const files = await artifactOf(service, result)
      expect(Object.keys(files)).not.toContain('vm/serial.log')
      expect(result.leftovers).toEqual([])
    })
  }
)
