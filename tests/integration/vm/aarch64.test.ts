// An aarch64 guest on this x86_64 machine: the fixture's aarch64Image (GRUB arm64-efi, Debian's
// arm64 kernel, busybox + dropbear; `scripts/setup-lab.sh --aarch64`) read for its architecture,
// booted by runVm under TCG through AAVMF with qemu-system-aarch64, probed over SSH; and
// `kvm: require` refused before any QEMU starts. What no x86 machine can show: KVM on an arm64 host
// (tests/integration/vm/kvm.test.ts runs its arm64 test guest under TCG instead).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { readIsoArchitecture } from '../../../src/iso/iso-arch.js'
import { consoleLog } from '../../../src/shared/log.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { guestPlatform } from '../../../src/vm/guest.js'
import { qemuBinary } from '../../../src/vm/platform.js'
import { runVm, type VmRequest } from '../../../src/vm/stage.js'
import { AARCH64_LAB_MISSING, fixtureIso } from '../../helpers/lab.js'

if (AARCH64_LAB_MISSING)
  console.warn(`tests/integration/vm/aarch64.test.ts skipped: ${AARCH64_LAB_MISSING}`)

const root = mkdtempSync(join(tmpdir(), 'biv-vm-aarch64-'))
let runs = 0

function harness(): { ctx: StageContext; lines: string[] } {
  const dir = join(root, `run-${++runs}`)
  const lines: string[] = []
  const ctx: StageContext = {
    log: consoleLog(line => lines.push(line)),
    secrets: new Secrets(),
    reportDir: join(dir, 'report'),
    tempDir: join(dir, 'tmp'),
    env: process.env,
    signal: new AbortController().signal
  }
  return { ctx, lines }
}

function ourQemus(): string[] {
  const out = spawnSync('pgrep', ['-af', 'qemu-system'], { encoding: 'utf8' }).stdout
  return out.split('\n').filter(line => line.includes(root))
}

afterAll(() => {
  const left = ourQemus()
  for (const line of left) process.kill(Number(line.split(' ')[0]), 'SIGKILL')
  rmSync(root, { recursive: true, force: true })
  expect(left).toEqual([])
})

async function request(over: Partial<VmRequest> = {}): Promise<VmRequest> {
  const fixture = await fixtureIso('aarch64Image')
  const read = readIsoArchitecture(fixture.iso)!
  return {
    iso: fixture.iso,
    guest: guestPlatform(read.arch, read.evidence, 'x86_64'),
    firmware: 'bios',
    qemu: qemuBinary('aarch64'),
    memoryMiB: 512,
    cpus: 2,
    kvm: 'auto',
    bootTimeoutSeconds: 240,
    privateKeyPath: fixture.privateKeyPath,
    probes: [
      { name: 'machine', command: 'uname -m', required: true, timeoutSeconds: 30 },
      { name: 'addresses', command: 'ip address show', required: true, timeoutSeconds: 30 }
    ],
    testCommand: '',
    ...over
  }
}

describe.skipIf(AARCH64_LAB_MISSING)('the fixture ISOs', () => {
  it("are read for their architecture from grub-mkrescue's El Torito UEFI image", async () => {
    const arm = await fixtureIso('aarch64Image')
    expect(readIsoArchitecture(arm.iso)).toEqual({
      arch: 'aarch64',
      evidence: 'EFI/BOOT/BOOTAA64.EFI in the El Torito UEFI image'
    })
    const pc = await fixtureIso('bootImage')
    expect(readIsoArchitecture(pc.iso)?.arch).toBe('x86_64')
  })
})

describe.skipIf(AARCH64_LAB_MISSING)('runVm with an aarch64 guest on x86_64', () => {
  it('boots it under TCG through AAVMF, reads its console, and probes it over SSH', async () => {
    const { ctx, lines } = harness()
    const result = await runVm(
      await request({
        testCommand:
          'ssh -i "$BOOT_IMAGE_VM_SSH_KEY" -p "$BOOT_IMAGE_VM_SSH_PORT" -o StrictHostKeyChecking=no ' +
          '-o UserKnownHostsFile=/dev/null -o BatchMode=yes root@127.0.0.1 uname -m'
      }),
      ctx
    )
    const { boot } = result
    expect(boot.error).toBeUndefined()
    expect(boot).toMatchObject({ status: 'passed', accel: 'tcg' })
    expect(boot.guest).toMatchObject({ arch: 'aarch64', host: 'x86_64', emulated: true })
    // No KVM check for a guest KVM cannot run here.
    expect(boot.kvmCheck).toBeUndefined()
    expect(lines.join('\n')).toMatch(
      /cannot use KVM on an x86_64 host.*emulated: expect ~10× slower/
    )
    // The firmware's escape codes are gone from what the timeline read.
    expect(boot.timeline.map(m => m.name)).toEqual(
      expect.arrayContaining(['firmware', 'kernel', 'init', 'network', 'sshd', 'ready'])
    )
    for (const milestone of boot.timeline) expect(milestone.line).not.toContain('\u001b')
    expect(boot.consoleHostKeyFingerprint).toBe(boot.hostKeyFingerprint)

    const args = readFileSync(join(ctx.reportDir, 'vm', 'qemu-args.txt'), 'utf8').split('\n')
    expect(args[0]).toMatch(/qemu-system-aarch64$/)
    expect(args).toEqual(expect.arrayContaining(['virt', 'max,pauth-impdef=on']))
    expect(args.some(arg => /AAVMF_CODE\.fd$/.test(arg))).toBe(true)

    const probes = Object.fromEntries(result.probes.map(p => [p.name, p]))
    expect(probes.machine).toMatchObject({ exitCode: 0 })
    expect(readFileSync(join(ctx.reportDir, 'probes', 'machine.txt'), 'utf8')).toMatch(/^aarch64$/m)
    expect(probes.addresses).toMatchObject({ exitCode: 0 })
    expect(result.test).toMatchObject({ exitCode: 0 })
    expect(readFileSync(join(ctx.reportDir, 'test', 'output.log'), 'utf8')).toMatch(/^aarch64$/m)
    console.log(`aarch64 fixture under TCG: SSH after ${boot.bootSeconds} s`)
  }, 300_000)

  it('refuses kvm: require before starting QEMU, naming both architectures', async () => {
    const { ctx } = harness()
    const started = Date.now()
    const result = await runVm(await request({ kvm: 'require' }), ctx)
    expect(result.boot.status).toBe('failed')
    expect(result.boot.error).toMatch(
      /^input 'kvm' is 'require', but an aarch64 guest cannot use KVM on an x86_64 host/
    )
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(ourQemus()).toEqual([])
  })
})
