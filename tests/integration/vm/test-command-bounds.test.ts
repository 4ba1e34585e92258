// The test command's output is untrusted and may be any length (issue 22, item 4): output.log
// keeps its first 16 MiB and says where it was cut; the job log echoes as much, says the rest is
// cut, and still gets the action's own closing line. A real bash printing 24 MiB.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CAPS } from '../../../src/shared/bounds.js'
import type { StageContext } from '../../../src/shared/context.js'
import { consoleLog } from '../../../src/shared/log.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { runTestCommand } from '../../../src/vm/test-command.js'

const dir = mkdtempSync(join(tmpdir(), 'biv-test-bounds-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the test command printing 24 MiB', () => {
  it('leaves a 16 MiB output.log with the note, and says the cut in the job log', async () => {
    const lines: string[] = []
    const ctx: StageContext = {
      log: consoleLog(line => lines.push(line)),
      secrets: new Secrets(),
      reportDir: dir,
      tempDir: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      signal: new AbortController().signal
    }
    // 24 MiB of 1 KiB lines (1023 characters and the newline).
    const command = "head -c 25165824 /dev/zero | tr '\\0' b | fold -w 1023"
    const result = await runTestCommand(
      {
        command,
        sshPort: 40022,
        privateKeyPath: '/keys/id',
        iso: '/x.iso',
        serialLog: '/serial.log',
        timeoutSeconds: 120
      },
      ctx
    )
    expect(result.exitCode).toBe(0)
    const file = join(dir, 'test', 'output.log')
    expect(statSync(file).size).toBeLessThan(CAPS.fileBytes + 1024)
    const text = readFileSync(file, 'utf8')
    expect(text.endsWith('\n… cut at 16.0 MiB of 24.0 MiB\n')).toBe(true)
    const echoed = lines.filter(line => line.startsWith('[test] b'))
    expect(echoed.length).toBeLessThan(16 * 1024 + 1)
    expect(lines).toContain('[test] … its output is cut at 16.0 MiB')
    expect(lines.at(-1)).toMatch(/^\[test\] boot-image-vm: exit code 0 after/)
  })
})
