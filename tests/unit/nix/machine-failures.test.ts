// The machine's build failures (issue 13), from transcripts recorded with real Nix 2.8 (see
// tests/fixtures/README.md for how each was made), read the way buildImage reads them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BuildEvents } from '../../../src/nix/events.js'
import { findRootFailures, isEvaluationError } from '../../../src/nix/failures.js'
import { findMachineFailure, machineFailureMessage } from '../../../src/nix/machine-failures.js'

const dir = join(import.meta.dirname, '../../fixtures/transcripts')

/** What buildImage hands the parsers: the error text of the events, or the plain stderr. */
function errorText(name: string): string {
  const text = readFileSync(join(dir, name), 'utf8')
  if (!name.includes('internal-json')) return text
  const events = new BuildEvents().pushAll(text.split('\n'))
  return [events.errorText(), ...events.plainLines].join('\n')
}

describe('findMachineFailure on recorded Nix 2.8 transcripts', () => {
  it.each([
    ['nix-2.8-machine-no-pty.txt', /pseudoterminal.*mount devpts on \/dev\/pts/],
    ['nix-2.8-machine-no-pty.internal-json.txt', /pseudoterminal/],
    ['nix-2.8-machine-no-daemon.txt', /running Nix daemon: nothing answers at \/nix\/var\/nix/],
    ['nix-2.8-machine-no-daemon.internal-json.txt', /running Nix daemon.*No such file/],
    ['nix-2.8-machine-daemon-refused.internal-json.txt', /running Nix daemon.*Connection refused/],
    ['nix-2.8-machine-no-space.internal-json.txt', /free disk space/],
    ['nix-2.8-machine-daemon-died.internal-json.txt', /daemon that stays up/]
  ])('%s: says what the machine lacks, blames no derivation', (name, lacks) => {
    const text = errorText(name)
    const failure = findMachineFailure(text)
    expect(failure?.lacks).toMatch(lacks)
    expect(findRootFailures(text)).toEqual([])
    // Before: one `error:` line and no build started read as the evaluator's.
    expect(isEvaluationError(text)).toBe(false)
  })

  it('quotes what Nix said, without colour', () => {
    const failure = findMachineFailure(errorText('nix-2.8-machine-no-space.internal-json.txt'))
    expect(failure?.evidence).toBe(
      "error: creating directory '/tmp/infra/tiny/nix-build-boot-image-vm-enospc.drv-0': No space left on device"
    )
    expect(machineFailureMessage(failure!)).toMatch(
      /^This machine could not build \(not a fault of the flake or its derivations\): it lacks free disk space.*Nix said: error: creating directory/
    )
  })

  it('newer wording of a daemon that went away (from the Nix source strings)', () => {
    const text = 'error: Nix daemon disconnected unexpectedly (maybe it crashed?)'
    expect(findMachineFailure(text)?.lacks).toMatch(/daemon that stays up/)
    expect(isEvaluationError(text)).toBe(false)
  })

  it('evaluation errors and builder failures are not the machine', () => {
    for (const name of [
      'nix-2.8-eval-throw.txt',
      'nix-2.8-eval-missing-attribute.txt',
      'nix-2.8-failing-leaf.txt',
      'nix-2.8-hash-mismatch.txt',
      'nix-2.8-missing-features.txt'
    ]) {
      expect(findMachineFailure(errorText(name)), name).toBeUndefined()
    }
  })
})
