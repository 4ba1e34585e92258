// A stopped provisioning says it was stopped, never that its binary is no QEMU: after a failed
// build the pipeline aborts `beside.stopQemu`, which kills a running `--version` (it prints
// nothing), and that once read as "did not name a QEMU version (no output)".
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { stoppedAttempt } from '../../../src/qemu-provisioning/plan.js'
import { run, type RunResult } from '../../../src/shared/process.js'
import { readVersionProbe } from '../../../src/qemu-provisioning/version.js'

const work = mkdtempSync(join(tmpdir(), 'bivm-qemu-probe-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const BINARY = '/nix/store/x-qemu/bin/qemu-system-x86_64'
const probe = (over: Partial<RunResult>): RunResult => ({
  exitCode: 0,
  stdout: '',
  stderr: '',
  timedOut: false,
  aborted: false,
  ...over
})

describe('readVersionProbe', () => {
  it('names the version of a binary that printed one', () => {
    const stdout = 'QEMU emulator version 9.1.2\nCopyright (c) 2003-2024 …\n'
    expect(readVersionProbe(BINARY, probe({ stdout }))).toEqual({ version: '9.1.2' })
  })

  it('says why a binary that ran is no QEMU', () => {
    expect(readVersionProbe(BINARY, probe({ exitCode: 1, stderr: 'error: oops\n' }))).toEqual({
      reason: `${BINARY} --version did not name a QEMU version (error: oops)`
    })
    expect(readVersionProbe(BINARY, probe({}))).toEqual({
      reason: `${BINARY} --version did not name a QEMU version (no output)`
    })
  })

  it('a stopped run is a stop, whatever it printed', () => {
    expect(readVersionProbe(BINARY, probe({ exitCode: null, aborted: true }))).toEqual({
      stopped: `stopped while \`${BINARY} --version\` ran`
    })
  })
})

describe('a provisioning stopped mid `--version` (real process, stand-in binary)', () => {
  it('reads as stopped, and its attempt is skipped with the stop named', async () => {
    // Stand-in for a QEMU whose --version is slow (a cold store, a loaded runner): it sleeps.
    const binary = join(work, 'qemu-system-x86_64')
    writeFileSync(binary, '#!/bin/sh\nexec sleep 30\n')
    chmodSync(binary, 0o755)
    const stop = new AbortController()
    const running = run(binary, ['--version'], {
      env: { PATH: '/usr/bin:/bin' },
      signal: stop.signal
    })
    await new Promise(resolve => setTimeout(resolve, 200))
    stop.abort() // what pipeline/index.ts's stopQemu does once the build failed
    const ran = await running
    expect(ran).toMatchObject({ aborted: true, stdout: '' })
    const read = readVersionProbe(binary, ran)
    expect(read).toEqual({ stopped: `stopped while \`${binary} --version\` ran` })
    const attempt = stoppedAttempt('apt', (read as { stopped: string }).stopped, false, 5)
    expect(attempt).toEqual({
      source: 'apt',
      outcome: 'skipped',
      reason: `stopped while \`${binary} --version\` ran: provisioning was stopped (QEMU was not needed any more: the build failed or the run ended)`,
      durationMs: 5
    })
    expect(attempt.reason).not.toMatch(/did not name a QEMU version/)
    expect(stoppedAttempt('nix', 'stopped while nix build ran', true, 0).reason).toBe(
      'stopped while nix build ran: the job was cancelled'
    )
  })
})
