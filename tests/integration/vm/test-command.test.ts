// The user's test command on the host: bash -c, its own process group, a timeout, redacted output.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { consoleLog } from '../../../src/shared/log.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { runTestCommand, type TestCommandOptions } from '../../../src/vm/test-command.js'

function context(lines: string[]): StageContext {
  const dir = mkdtempSync(join(tmpdir(), 'biv-test-command-'))
  const secrets = new Secrets()
  secrets.add('t0p-secret-value')
  return {
    log: consoleLog(line => lines.push(line)),
    secrets,
    reportDir: dir,
    tempDir: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SOME_TOKEN: 't0p-secret-value' },
    signal: new AbortController().signal
  }
}

const options = (command: string, timeoutSeconds = 30): TestCommandOptions => ({
  command,
  sshPort: 40022,
  privateKeyPath: '/keys/id_ed25519',
  iso: '/nix/store/x/iso/image.iso',
  serialLog: '/report/vm/serial.log',
  timeoutSeconds
})

describe('runTestCommand', () => {
  it('runs the command with bash and the VM variables, redacting and streaming its output', async () => {
    const lines: string[] = []
    const ctx = context(lines)
    const result = await runTestCommand(
      options(
        'echo "$BOOT_IMAGE_VM_SSH_HOST:$BOOT_IMAGE_VM_SSH_PORT $BOOT_IMAGE_VM_SSH_USER $BOOT_IMAGE_VM_SSH_KEY"; ' +
          'echo "$BOOT_IMAGE_VM_ISO $BOOT_IMAGE_VM_SERIAL_LOG"; echo "token=$SOME_TOKEN" >&2; exit 4'
      ),
      ctx
    )
    expect(result).toMatchObject({ exitCode: 4, timedOut: false, file: 'test/output.log' })
    const output = readFileSync(join(ctx.reportDir, 'test', 'output.log'), 'utf8')
    expect(output).toContain('127.0.0.1:40022 root /keys/id_ed25519')
    expect(output).toContain('/nix/store/x/iso/image.iso /report/vm/serial.log')
    expect(output).toContain('token=***')
    expect(output).not.toContain('t0p-secret')
    expect(lines).toContain('[test] 127.0.0.1:40022 root /keys/id_ed25519')
  })

  it('kills the whole process group at the timeout', async () => {
    const lines: string[] = []
    const ctx = context(lines)
    const result = await runTestCommand(
      options('sleep 31.4159 & sleep 31.4159; echo never', 1),
      ctx
    )
    expect(result.timedOut).toBe(true)
    expect(result.exitCode).not.toBe(0)
    const left = spawnSync('pgrep', ['-f', 'sleep 31.4159'], { encoding: 'utf8' }).stdout.trim()
    expect(left).toBe('')
    expect(readFileSync(join(ctx.reportDir, 'test', 'output.log'), 'utf8')).toMatch(
      /timed out after 1 s/
    )
  })
})
