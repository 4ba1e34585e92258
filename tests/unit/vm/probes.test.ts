import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { consoleLog } from '../../../src/shared/log.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { isMissingCommand, runProbes } from '../../../src/vm/probes.js'
import type { ExecResult } from '../../../src/vm/ssh.js'

const result = (over: Partial<ExecResult>): ExecResult => ({
  exitCode: 0,
  stdout: '',
  stderr: '',
  timedOut: false,
  ...over
})

describe('isMissingCommand', () => {
  it('is exit 127 or a shell saying not found', () => {
    expect(isMissingCommand(result({ exitCode: 127 }))).toBe(true)
    expect(isMissingCommand(result({ exitCode: 1, stderr: 'sh: resolvectl: not found\n' }))).toBe(
      true
    )
    expect(isMissingCommand(result({ exitCode: 1, stderr: 'failed\n' }))).toBe(false)
    expect(isMissingCommand(result({ exitCode: 0 }))).toBe(false)
  })
})

describe('runProbes', () => {
  it('writes one redacted file per probe and reports report-relative paths', async () => {
    const reportDir = mkdtempSync(join(tmpdir(), 'biv-probes-'))
    const secrets = new Secrets()
    secrets.add('hunter2-secret')
    const lines: string[] = []
    const session = {
      exec: async (command: string): Promise<ExecResult> =>
        command === 'env'
          ? result({ stdout: 'TOKEN=hunter2-secret\n' })
          : result({ exitCode: 127, stderr: 'sh: nope: not found\n' })
    }
    const probes = await runProbes(
      session,
      [
        { name: 'env', command: 'env', required: true, timeoutSeconds: 5 },
        { name: 'nope', command: 'nope', required: false, timeoutSeconds: 5 }
      ],
      join(reportDir, 'probes'),
      {
        log: consoleLog(line => lines.push(line)),
        secrets,
        reportDir,
        tempDir: reportDir,
        env: {},
        signal: new AbortController().signal
      }
    )
    expect(probes.map(p => [p.name, p.exitCode, p.missing, p.file])).toEqual([
      ['env', 0, false, 'probes/env.txt'],
      ['nope', 127, true, 'probes/nope.txt']
    ])
    const text = readFileSync(join(reportDir, 'probes', 'env.txt'), 'utf8')
    expect(text).toContain('command: env')
    expect(text).toContain('exit code: 0')
    expect(text).toContain('TOKEN=***')
    expect(text).not.toContain('hunter2')
    expect(lines.join('\n')).toMatch(/\[probe nope\] command not found on the guest/)
  })
})
