// collectFailureLogs against a stand-in `nix` (a shell script): the fallbacks and file naming.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import type { NixInstallation } from '../../../src/model/index.js'
import { collectFailureLogs, failureFileNames } from '../../../src/build/diagnostics.js'
import { BuildEvents } from '../../../src/build/events.js'
import type { ParsedFailure } from '../../../src/build/failures.js'
import { Secrets } from '../../../src/shared/secrets.js'

const A = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-leaf.drv'
const B = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-leaf.drv'
const failure = (drv: string, tail: string[] = []): ParsedFailure => ({
  drv,
  name: 'leaf',
  reason: 'builder failed with exit code 1',
  exitCode: 1,
  tail
})

/** A `nix` whose store has a log for A only, and which shows any derivation as JSON. */
function fakeNix(): NixInstallation {
  const dir = mkdtempSync(join(tmpdir(), 'fake-nix-'))
  const nixPath = join(dir, 'nix')
  writeFileSync(
    nixPath,
    [
      '#!/bin/sh',
      `if [ "$1" = log ] && [ "$2" = ${A} ]; then for i in $(seq 1 30); do echo "A $i secret-value"; done; exit 0; fi`,
      `if [ "$1" = log ]; then echo "error: build log of '$2' is not available" >&2; exit 1; fi`,
      `if [ "$1" = show-derivation ]; then printf '{"%s":{"outputs":{}}}' "$2"; exit 0; fi`,
      'exit 2'
    ].join('\n')
  )
  chmodSync(nixPath, 0o755)
  return {
    nixPath,
    version: '2.8.0',
    variant: 'nix',
    capabilities: {
      printOutPaths: false,
      configShow: ['show-config'],
      derivationShow: ['show-derivation'],
      storeInfo: ['store', 'ping'],
      jsonLogPath: false
    },
    env: {},
    storeMode: 'in-process'
  }
}

describe('collectFailureLogs', () => {
  it('takes nix log, falls back to the events, disambiguates names, redacts, annotates', async () => {
    const reportDir = mkdtempSync(join(tmpdir(), 'report-'))
    const errors: { message: string; title?: string }[] = []
    const secrets = new Secrets()
    secrets.add('secret-value')
    const ctx: StageContext = {
      log: {
        info: () => undefined,
        echo: () => undefined,
        debug: () => undefined,
        warning: () => undefined,
        error: (message, a) => errors.push({ message, title: a?.title }),
        group: (_n, fn) => fn()
      },
      secrets,
      reportDir,
      tempDir: reportDir,
      env: process.env,
      signal: new AbortController().signal
    }
    const events = new BuildEvents().pushAll([
      `@nix {"action":"start","id":5,"level":3,"text":"building '${B}'","type":105,"fields":["${B}","",1,1]}`,
      '@nix {"action":"result","id":5,"type":101,"fields":["B only in the events"]}',
      '@nix {"action":"stop","id":5}'
    ])
    const dir = join(reportDir, 'build')
    const result = await collectFailureLogs(fakeNix(), [failure(A), failure(B)], events, dir, ctx)
    expect(result.map(f => f.log)).toEqual([
      'build/failed/aaaaaaaa-leaf.log',
      'build/failed/bbbbbbbb-leaf.log'
    ])
    expect(result[0].tail).toHaveLength(25)
    expect(result[0].tail.at(-1)).toBe('A 30 ***')
    const logA = readFileSync(join(reportDir, result[0].log), 'utf8')
    expect(logA).toContain(`# log from nix log ${A}`)
    expect(logA).not.toContain('secret-value')
    const logB = readFileSync(join(reportDir, result[1].log), 'utf8')
    expect(logB).toContain("the build's events (nix log had none: error: build log of")
    expect(logB).toContain('B only in the events')
    const drvJson = JSON.parse(readFileSync(join(dir, 'failed/bbbbbbbb-leaf.drv.json'), 'utf8'))
    expect(Object.keys(drvJson)).toEqual([B])
    expect(errors.map(e => e.title)).toEqual([
      'build failed: leaf — builder failed with exit code 1',
      'build failed: leaf — builder failed with exit code 1'
    ])
    expect(errors[1].message).toBe('B only in the events')
  })

  it('names files by derivation name, with a hash prefix only when names collide', () => {
    expect(failureFileNames([failure(A)])).toEqual(['leaf'])
    expect(failureFileNames([failure(A), failure(B)])).toEqual(['aaaaaaaa-leaf', 'bbbbbbbb-leaf'])
  })
})
