// The real KVM of this machine: /dev/kvm exists and answers, but cannot run guests at hardware
// speed (see docs/offline-lab notes). The check must say so quickly and leave no QEMU behind.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { checkKvm } from '../../../src/vm/kvm.js'

function testGuests(): string[] {
  const out = spawnSync('pgrep', ['-af', 'kvm-test.rom'], { encoding: 'utf8' }).stdout
  return out.split('\n').filter(line => line.includes('qemu-system'))
}

describe('checkKvm', () => {
  it('finds that this machine’s KVM cannot run a guest, and kills its QEMU', async () => {
    const check = await checkKvm()
    expect(check.runsGuest).toBe(false)
    expect(check.reason).toMatch(/KVM/)
    expect(check.durationMs).toBeGreaterThan(0)
    expect(testGuests()).toEqual([])
  })

  it('passes the same test guest under TCG (the harness itself works)', async () => {
    // TCG runs this loop in ~200 ms; a loaded machine must not make the harness look broken.
    const check = await checkKvm({ accel: 'tcg', runBudgetMs: 10_000 })
    expect(check.runsGuest).toBe(true)
    expect(check.reason).toMatch(/100M instructions/)
    expect(testGuests()).toEqual([])
  })

  it('decides on a started guest that has not finished within its run budget', async () => {
    const check = await checkKvm({ accel: 'tcg', runBudgetMs: 1 })
    expect(check.runsGuest).toBe(false)
    expect(check.reason).toMatch(/started the test guest but did not run it at hardware speed/)
    expect(testGuests()).toEqual([])
  })

  it('names a missing device without starting QEMU', async () => {
    const check = await checkKvm({ device: '/dev/kvm-does-not-exist' })
    expect(check).toMatchObject({ runsGuest: false })
    expect(check.reason).toMatch(/does not exist/)
    expect(testGuests()).toEqual([])
  })

  it('resolves with the reason when it cannot even prepare its test guest', async () => {
    const saved = process.env.TMPDIR
    process.env.TMPDIR = '/nonexistent/tmp'
    try {
      const check = await checkKvm({ accel: 'tcg' })
      expect(check.runsGuest).toBe(false)
      expect(check.reason).toMatch(/^the check failed: .*ENOENT/)
    } finally {
      if (saved === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = saved
    }
  })

  it('says when QEMU cannot be started', async () => {
    const check = await checkKvm({ qemu: '/nonexistent/qemu-system-x86_64' })
    expect(check.runsGuest).toBe(false)
    expect(check.reason).toMatch(/could not start|exited|ENOENT/)
  })
})
