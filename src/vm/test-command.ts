// The user's test command, run on the HOST while the VM is up. The input is a shell command by
// definition, so it goes to `bash -c` as ONE argument; the runner gives it its own process group,
// so that a hang (its timeout) or a cancel (the stage's signal) ends it as a group.
import { createWriteStream, mkdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { StageContext } from '../context.js'
import type { TestResult } from '../model.js'
import { runStepEnv } from '../child-env.js'
import { run } from '../process.js'

export interface TestCommandOptions {
  command: string
  sshPort: number
  privateKeyPath: string
  iso: string
  serialLog: string
  timeoutSeconds: number
}

/** What a `run:` step would get (src/child-env.ts), and the documented BOOT_IMAGE_VM_*. */
export function testCommandEnv(
  options: TestCommandOptions,
  env: NodeJS.ProcessEnv
): Record<string, string> {
  return runStepEnv(env, {
    BOOT_IMAGE_VM_SSH_HOST: '127.0.0.1',
    BOOT_IMAGE_VM_SSH_PORT: String(options.sshPort),
    BOOT_IMAGE_VM_SSH_USER: 'root',
    BOOT_IMAGE_VM_SSH_KEY: options.privateKeyPath,
    BOOT_IMAGE_VM_ISO: options.iso,
    BOOT_IMAGE_VM_SERIAL_LOG: options.serialLog
  })
}

export async function runTestCommand(
  options: TestCommandOptions,
  ctx: StageContext
): Promise<TestResult> {
  const dir = join(ctx.reportDir, 'test')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'output.log')
  const output = createWriteStream(file)
  const started = Date.now()
  const write = (line: string): void => {
    const clean = ctx.secrets.redact(line)
    output.write(clean + '\n')
    ctx.log.echo('test', clean)
  }
  write(`$ ${options.command}`)

  const ran = await run('bash', ['-c', options.command], {
    env: testCommandEnv(options, ctx.env),
    signal: ctx.signal,
    timeoutMs: options.timeoutSeconds * 1000,
    graceMs: 3_000,
    onStdoutLine: write,
    onStderrLine: write
  })
  if (ran.startError) write(`boot-image-vm: could not start bash: ${ran.startError}`)
  const why = ran.timedOut
    ? `timed out after ${options.timeoutSeconds} s`
    : ran.aborted && 'the job was cancelled'
  if (why) write(`boot-image-vm: ${why}; the test command was stopped`)
  const { exitCode, timedOut } = ran
  const durationMs = Date.now() - started
  write(`boot-image-vm: exit code ${exitCode ?? 'none'} after ${(durationMs / 1000).toFixed(1)} s`)
  await new Promise<void>(resolve => output.end(resolve))
  return { exitCode, timedOut, durationMs, file: relative(ctx.reportDir, file) }
}
