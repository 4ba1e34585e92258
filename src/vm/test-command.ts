// The user's test command, run on the HOST while the VM is up. The input is a shell command by
// definition, so it goes to `bash -c` as ONE argument; the runner gives it its own process group,
// so that a hang (its timeout) or a cancel (the stage's signal) ends it as a group.
import { mkdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { CappedFile, CAPS, formatBytes } from '../shared/bounds.js'
import type { StageContext } from '../shared/context.js'
import type { TestResult } from '../model/index.js'
import { runStepEnv } from '../shared/child-env.js'
import { run } from '../shared/process.js'

export interface TestCommandOptions {
  command: string
  sshPort: number
  privateKeyPath: string
  iso: string
  serialLog: string
  timeoutSeconds: number
}

/** What a `run:` step would get (src/shared/child-env.ts), and the documented BOOT_IMAGE_VM_*. */
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
  // output.log keeps the first CAPS.fileBytes; the job log echoes as much, then says the rest is cut.
  const output = new CappedFile(file, CAPS.fileBytes)
  const started = Date.now()
  const write = (line: string): void => {
    const clean = ctx.secrets.redact(line)
    const wasCut = output.cut
    output.write(clean + '\n')
    if (!output.cut) ctx.log.echo('test', clean)
    else if (!wasCut) ctx.log.echo('test', `… its output is cut at ${formatBytes(CAPS.fileBytes)}`)
  }
  /** The action's own lines about the command: always in the job log. */
  const say = (line: string): void => {
    const clean = ctx.secrets.redact(line)
    output.write(clean + '\n')
    ctx.log.echo('test', clean)
  }
  say(`$ ${options.command}`)

  const ran = await run('bash', ['-c', options.command], {
    env: testCommandEnv(options, ctx.env),
    signal: ctx.signal,
    timeoutMs: options.timeoutSeconds * 1000,
    graceMs: 3_000,
    onStdoutLine: write,
    onStderrLine: write
  })
  if (ran.startError) say(`boot-image-vm: could not start bash: ${ran.startError}`)
  const why = ran.timedOut
    ? `timed out after ${options.timeoutSeconds} s`
    : ran.aborted && 'the job was cancelled'
  if (why) say(`boot-image-vm: ${why}; the test command was stopped`)
  const { exitCode, timedOut } = ran
  const durationMs = Date.now() - started
  say(`boot-image-vm: exit code ${exitCode ?? 'none'} after ${(durationMs / 1000).toFixed(1)} s`)
  await output.close()
  return { exitCode, timedOut, durationMs, file: relative(ctx.reportDir, file) }
}
