// checkKvm with real QEMU. These tests pass whatever this machine's /dev/kvm is (absent,
// nested-broken, working) and never assert which: the real check is only asked for a verdict that
// fits its reason and a clean end. What they check about a KVM that runs guests is checked by
// construction: the same test guest under TCG (`accel: 'tcg'`) stands in for a working KVM,
// /dev/null (it exists and is read-write) for the device, and a 1 ms run budget for a KVM that
// starts guests but never runs them (the nested case).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkKvm } from '../../../src/vm/kvm.js'
import { qemuBinary } from '../../../src/vm/platform.js'

/** This machine's QEMU, from PATH (the pipeline passes the provisioned one). */
const qemu = qemuBinary('x86_64')
/** Stands in for /dev/kvm where the device check must pass. */
const STAND_IN_DEVICE = '/dev/null'

// The check's test guest lives in a directory under TMPDIR: this file's own, so the guests it
// counts are its own, whatever another test file runs beside it (npm test runs two at once).
const ownTmp = mkdtempSync(join(tmpdir(), 'kvm-test-file-'))
process.env.TMPDIR = ownTmp
afterAll(() => rmSync(ownTmp, { recursive: true, force: true }))

function testGuests(): string[] {
  const out = spawnSync('pgrep', ['-af', 'kvm-test.rom'], { encoding: 'utf8' }).stdout
  return out.split('\n').filter(line => line.includes('qemu-system') && line.includes(ownTmp))
}

describe('checkKvm', () => {
  it('gives this machine’s KVM a verdict that fits its reason, and kills its QEMU', async () => {
    const check = await checkKvm({ qemu })
    expect(typeof check.runsGuest).toBe('boolean')
    expect(check.reason).toMatch(
      check.runsGuest ? /ran .*M instructions under KVM/ : /KVM|\/dev\/kvm/
    )
    expect(check.durationMs).toBeGreaterThanOrEqual(0)
    expect(testGuests()).toEqual([])
  })

  it('passes the same test guest under TCG (the harness itself works)', async () => {
    // TCG runs this loop in ~200 ms; a loaded machine must not make the harness look broken.
    const check = await checkKvm({
      qemu,
      accel: 'tcg',
      runBudgetMs: 10_000,
      device: STAND_IN_DEVICE
    })
    expect(check.runsGuest).toBe(true)
    expect(check.reason).toMatch(/100M instructions/)
    expect(testGuests()).toEqual([])
  })

  it("passes arm64's test guest under TCG: the check is ready for an arm64 runner", async () => {
    // On an arm64 host the check boots this ROM on `virt` with qemu-system-aarch64 under KVM;
    // here TCG stands in for that KVM (no arm64 host to run it on).
    const check = await checkKvm({
      qemu: qemuBinary('aarch64'),
      host: 'aarch64',
      accel: 'tcg',
      runBudgetMs: 10_000,
      device: STAND_IN_DEVICE
    })
    expect(check.reason).toMatch(/100M instructions/)
    expect(check.runsGuest).toBe(true)
    expect(testGuests()).toEqual([])
  })

  it('decides on a started guest that has not finished within its run budget', async () => {
    // A KVM that starts the guest but does not run it at hardware speed, by construction.
    const check = await checkKvm({ qemu, accel: 'tcg', runBudgetMs: 1, device: STAND_IN_DEVICE })
    expect(check.runsGuest).toBe(false)
    expect(check.reason).toMatch(/started the test guest but did not run it at hardware speed/)
    expect(testGuests()).toEqual([])
  })

  it('names a missing device without starting QEMU', async () => {
    const check = await checkKvm({ qemu, device: '/dev/kvm-does-not-exist' })
    expect(check).toMatchObject({ runsGuest: false })
    expect(check.reason).toMatch(/does not exist/)
    expect(testGuests()).toEqual([])
  })

  it('resolves with the reason when it cannot even prepare its test guest', async () => {
    const saved = process.env.TMPDIR
    process.env.TMPDIR = '/nonexistent/tmp'
    try {
      const check = await checkKvm({ qemu, accel: 'tcg', device: STAND_IN_DEVICE })
      expect(check.runsGuest).toBe(false)
      expect(check.reason).toMatch(/^the check failed: .*ENOENT/)
    } finally {
      if (saved === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = saved
    }
  })

  it('says when QEMU cannot be started', async () => {
    const check = await checkKvm({
      qemu: '/nonexistent/qemu-system-x86_64',
      device: STAND_IN_DEVICE
    })
    expect(check.runsGuest).toBe(false)
    expect(check.reason).toMatch(/could not start|exited|ENOENT/)
  })
})
