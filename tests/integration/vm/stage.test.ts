// The VM stage against real QEMU (TCG: this machine's KVM cannot run guests) and the offline
// fixture ISOs: busybox + dropbear guests that print `boot-image-vm: ready` on the console.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { consoleLog } from '../../../src/shared/log.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { bootAttempt } from '../../../src/vm/boot.js'
import { qemuBinary } from '../../../src/vm/platform.js'
import { runVm, type VmRequest } from '../../../src/vm/stage.js'
import { fixtureIso } from '../../helpers/lab.js'

const root = mkdtempSync(join(tmpdir(), 'biv-vm-stage-'))
const pids: number[] = []
let runs = 0

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** QEMU processes whose command line points into this test's temp dir. */
function ourQemus(): string[] {
  const out = spawnSync('pgrep', ['-af', 'qemu-system'], { encoding: 'utf8' }).stdout
  return out.split('\n').filter(line => line.includes(root))
}

interface Harness {
  ctx: StageContext
  lines: string[]
  warnings: string[]
  controller: AbortController
}

function harness(): Harness {
  const dir = join(root, `run-${++runs}`)
  const lines: string[] = []
  const warnings: string[] = []
  const controller = new AbortController()
  const log = consoleLog(line => {
    lines.push(line)
    if (line.startsWith('warning:')) warnings.push(line)
  })
  const ctx: StageContext = {
    log,
    secrets: new Secrets(),
    reportDir: join(dir, 'report'),
    tempDir: join(dir, 'tmp'),
    env: process.env,
    signal: controller.signal
  }
  return { ctx, lines, warnings, controller }
}

async function request(attr: string, over: Partial<VmRequest> = {}): Promise<VmRequest> {
  const fixture = await fixtureIso(attr)
  return {
    iso: fixture.iso,
    firmware: 'bios',
    qemu: qemuBinary('x86_64'),
    memoryMiB: 512,
    cpus: 2,
    kvm: 'off',
    bootTimeoutSeconds: 180,
    privateKeyPath: fixture.privateKeyPath,
    probes: [],
    testCommand: '',
    onQemuStarted: pid => pids.push(pid),
    ...over
  }
}

function isPng(path: string): boolean {
  return readFileSync(path).subarray(0, 8).equals(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'))
}

afterEach(() => {
  // Teardown is the stage's job: every QEMU it started is gone when it returns.
  for (const pid of pids) expect(alive(pid), `QEMU ${pid} still runs`).toBe(false)
})

afterAll(() => {
  const left = ourQemus()
  for (const line of left) process.kill(Number(line.split(' ')[0]), 'SIGKILL')
  rmSync(root, { recursive: true, force: true })
  expect(left).toEqual([])
})

/**
 * A KVM check that found KVM cannot run a guest, made for the test: the stage's fallback and
 * `kvm: require` are exercised the same on every machine, whatever its /dev/kvm is.
 */
const KVM_CANNOT_RUN: VmRequest['kvmCheck'] = {
  runsGuest: false,
  reason: 'stand-in verdict: KVM cannot run a guest (made by the test)',
  durationMs: 0
}

describe('runVm', () => {
  it('falls back to TCG under kvm:auto when the check says KVM cannot run a guest, and says so', async () => {
    const { ctx, warnings, controller } = harness()
    const result = await runVm(
      await request('bootImage', {
        kvm: 'auto',
        kvmCheck: KVM_CANNOT_RUN,
        // The choice is made once QEMU runs: stopped there (the boot is proven by the case below).
        onQemuStarted: pid => {
          pids.push(pid)
          controller.abort()
        }
      }),
      ctx
    )
    expect(result.boot.accel).toBe('tcg')
    expect(result.boot.kvmCheck?.runsGuest).toBe(false)
    expect(warnings.join('\n')).toMatch(/Booting without KVM.*5–10× slower/)
    const args = readFileSync(join(ctx.reportDir, 'vm', 'qemu-args.txt'), 'utf8')
    expect(args).toMatch(/^-accel\ntcg$/m)
    expect(result.boot.error).toMatch(/cancelled/)
  })

  // One boot for three proofs: the restart under TCG when KVM was trusted wrongly, UEFI firmware
  // (every end-to-end run boots BIOS), and the probes and test command. Its own timeout: the KVM
  // attempt's silent 8 s, then UEFI under TCG, the slowest boot of the fixture.
  it('restarts under TCG when KVM was said to work but the guest does not run; boots UEFI, runs the probes and the test command', async () => {
    const { ctx, lines, warnings } = harness()
    ctx.secrets.add('s3cr3t-value-xyz')
    const before = pids.length
    const result = await runVm(
      await request('bootImage', {
        firmware: 'uefi',
        kvm: 'auto',
        kvmCheck: { runsGuest: true, reason: 'pretend it works', durationMs: 1 },
        probes: [
          { name: 'kernel', command: 'uname -a', required: true, timeoutSeconds: 10 },
          { name: 'fails', command: 'echo boom >&2; exit 3', required: true, timeoutSeconds: 10 },
          { name: 'optional', command: 'cat /nonexistent', required: false, timeoutSeconds: 10 },
          {
            name: 'missing',
            command: 'no-such-tool --version',
            required: false,
            timeoutSeconds: 10
          },
          { name: 'hang', command: 'sleep 60', required: true, timeoutSeconds: 2 },
          {
            name: 'after',
            command: 'echo s3cr3t-value-xyz after',
            required: true,
            timeoutSeconds: 10
          }
        ],
        testCommand:
          'ssh -i "$BOOT_IMAGE_VM_SSH_KEY" -p "$BOOT_IMAGE_VM_SSH_PORT" -o StrictHostKeyChecking=no ' +
          '-o UserKnownHostsFile=/dev/null -o BatchMode=yes root@127.0.0.1 echo hi; ' +
          'echo "iso=$BOOT_IMAGE_VM_ISO user=$BOOT_IMAGE_VM_SSH_USER"; test -s "$BOOT_IMAGE_VM_SERIAL_LOG"'
      }),
      ctx
    )
    const { boot } = result
    expect(boot.error).toBeUndefined()
    expect(boot.status).toBe('passed')
    const vm = join(ctx.reportDir, 'vm')
    const args = readFileSync(join(vm, 'qemu-args.txt'), 'utf8')
    if (boot.accel === 'kvm') {
      // This machine's KVM really runs guests: the claim was true, nothing to restart.
      expect(args).toMatch(/^-accel\nkvm$/m)
    } else {
      // No /dev/kvm, or a nested one that never runs the guest: the restart under TCG.
      expect(boot.accel).toBe('tcg')
      expect(warnings.join('\n')).toMatch(/KVM could not run the guest.*restarting under TCG/)
      expect(warnings.join('\n')).toMatch(/Booting without KVM.*5–10× slower/)
      expect(readFileSync(join(vm, 'qemu-args-kvm.txt'), 'utf8')).toMatch(/^-accel\nkvm$/m)
      expect(args).toMatch(/^-accel\ntcg$/m)
      // The KVM attempt's QEMU and the TCG one.
      expect(pids.length).toBeGreaterThanOrEqual(before + 2)
    }
    expect(boot.bootSeconds).toBeGreaterThan(0)
    expect(boot.timeline.map(m => m.name)).toEqual(
      expect.arrayContaining(['kernel', 'init', 'network', 'sshd', 'ready'])
    )
    expect(boot.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(boot.consoleHostKeyFingerprint).toBe(boot.hostKeyFingerprint)
    expect(lines.some(line => /^\[vm \+\d+\.\ds\] boot-image-vm: ready/.test(line))).toBe(true)

    const probes = Object.fromEntries(result.probes.map(p => [p.name, p]))
    expect(probes.kernel).toMatchObject({ exitCode: 0, timedOut: false, missing: false })
    expect(probes.fails).toMatchObject({ exitCode: 3, required: true, missing: false })
    expect(probes.optional).toMatchObject({ exitCode: 1, required: false })
    expect(probes.missing).toMatchObject({ exitCode: 127, missing: true })
    expect(probes.hang).toMatchObject({ exitCode: null, timedOut: true })
    // Killed at its own timeout, not left to finish its sleep.
    expect(probes.hang.durationMs).toBeGreaterThanOrEqual(2_000)
    expect(probes.hang.durationMs).toBeLessThan(60_000)
    expect(probes.after).toMatchObject({ exitCode: 0, file: 'probes/after.txt' })
    const after = readFileSync(join(ctx.reportDir, 'probes', 'after.txt'), 'utf8')
    expect(after).toContain('*** after')
    expect(after).not.toContain('s3cr3t')
    expect(readFileSync(join(ctx.reportDir, 'probes', 'fails.txt'), 'utf8')).toMatch(
      /exit code: 3[\s\S]*--- stderr ---\nboom/
    )

    expect(result.test).toMatchObject({ exitCode: 0, timedOut: false, file: 'test/output.log' })
    const output = readFileSync(join(ctx.reportDir, 'test', 'output.log'), 'utf8')
    expect(output).toMatch(/^hi$/m)
    expect(output).toContain(`user=root`)

    expect(readFileSync(join(vm, 'serial.log'), 'utf8')).toContain('boot-image-vm: ready')
    expect(args).toMatch(/if=pflash,format=raw,readonly=on,file=.*OVMF_CODE/)
    expect(args).toMatch(/^q35$/m)
    expect(existsSync(join(vm, 'qemu.log'))).toBe(true)
    expect(boot.screenshots).toContain('vm/screen-final.png')
    expect(isPng(join(ctx.reportDir, 'vm', 'screen-final.png'))).toBe(true)
  }, 300_000)

  it('fails clearly under kvm:require when KVM cannot run a guest, without booting it', async () => {
    const { ctx } = harness()
    const before = pids.length
    const result = await runVm(
      await request('bootImage', { kvm: 'require', kvmCheck: KVM_CANNOT_RUN }),
      ctx
    )
    expect(result.boot.status).toBe('failed')
    expect(result.boot.error).toMatch(/'kvm' is 'require', but KVM cannot run a guest/)
    expect(pids.length).toBe(before)
  })

  // The guest that panics and the one without sshd: tests/e2e/hardening-faults.test.ts boots both
  // through the action and asserts there what runVm returned here (the panic line, the error, the
  // failure screenshot, no probes; the deadline and the last console line).

  it('tears down when the job is cancelled (afterEach: no QEMU left)', async () => {
    const { ctx, controller } = harness()
    const vm = runVm(
      await request('bootImage', {
        onQemuStarted: pid => {
          pids.push(pid)
          setTimeout(() => controller.abort(), 2_000)
        }
      }),
      ctx
    )
    const result = await vm
    expect(result.boot.status).toBe('failed')
    expect(result.boot.error).toMatch(/cancelled/)
  })

  it('reports a forward port taken before QEMU bound it, so the stage can pick another', async () => {
    const { ctx } = harness()
    const squatter = createServer()
    await new Promise<void>(resolve => squatter.listen(0, '127.0.0.1', resolve))
    const port = (squatter.address() as { port: number }).port
    try {
      const fixture = await request('bootImage')
      const attempt = await bootAttempt(
        {
          ...fixture,
          arch: 'x86_64',
          accel: 'tcg',
          qemu: qemuBinary('x86_64'),
          sshPort: port,
          privateKey: readFileSync(fixture.privateKeyPath, 'utf8'),
          deadline: Date.now() + 30_000,
          vmDir: join(ctx.reportDir, 'vm')
        },
        ctx
      )
      expect(attempt.outcome).toEqual({ kind: 'port-taken' })
      expect(attempt.machine.running).toBe(false)
    } finally {
      squatter.close()
    }
  })
})
