// The user's test command, run on the HOST while the VM is up. The input is a shell command by
// definition, so it goes to `bash -c` as ONE argument; it runs in its own process group so that a
// hang is killed as a group.
import { spawn } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { StageContext } from '../context.js'
import type { TestResult } from '../model.js'
import { LineSplitter, stringEnv } from '../process.js'

export interface TestCommandOptions {
  command: string
  sshPort: number
  privateKeyPath: string
  iso: string
  serialLog: string
  timeoutSeconds: number
}

/** The variables the test command sees besides the job's own environment. */
export function testCommandEnv(
  options: TestCommandOptions,
  env: NodeJS.ProcessEnv
): Record<string, string> {
  return {
    ...stringEnv(env),
    BOOT_IMAGE_VM_SSH_HOST: '127.0.0.1',
    BOOT_IMAGE_VM_SSH_PORT: String(options.sshPort),
    BOOT_IMAGE_VM_SSH_USER: 'root',
    BOOT_IMAGE_VM_SSH_KEY: options.privateKeyPath,
    BOOT_IMAGE_VM_ISO: options.iso,
    BOOT_IMAGE_VM_SERIAL_LOG: options.serialLog
  }
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
    ctx.log.info(`[test] ${clean}`)
  }
  write(`$ ${options.command}`)

  const child = spawn('bash', ['-c', options.command], {
    detached: true,
    env: testCommandEnv(options, ctx.env),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines = new LineSplitter(write)
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => lines.push(chunk))

  let timedOut = false
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid) process.kill(-child.pid, signal)
    } catch {
      // the group is gone
    }
  }
  let killTimer: NodeJS.Timeout | undefined
  const stop = (why: string): void => {
    if (child.exitCode !== null || child.signalCode !== null) return
    write(`boot-image-vm: ${why}; stopping the test command`)
    killGroup('SIGTERM')
    killTimer = setTimeout(() => killGroup('SIGKILL'), 3_000)
  }
  const timer = setTimeout(() => {
    timedOut = true
    stop(`timed out after ${options.timeoutSeconds} s`)
  }, options.timeoutSeconds * 1000)
  const onAbort = (): void => stop('the job was cancelled')
  ctx.signal.addEventListener('abort', onAbort)

  const closed = new Promise<void>(resolve => child.once('close', () => resolve()))
  const exitCode = await new Promise<number | null>(resolve => {
    child.on('error', error => {
      write(`boot-image-vm: could not start bash: ${error.message}`)
      resolve(null)
    })
    child.on('exit', code => resolve(code))
  })
  clearTimeout(timer)
  clearTimeout(killTimer)
  ctx.signal.removeEventListener('abort', onAbort)
  // Whatever the command left running in its group goes with it (and releases the pipes).
  killGroup('SIGKILL')
  await Promise.race([closed, new Promise(r => setTimeout(r, 2_000))])
  lines.end()
  const durationMs = Date.now() - started
  write(`boot-image-vm: exit code ${exitCode ?? 'none'} after ${(durationMs / 1000).toFixed(1)} s`)
  await new Promise<void>(resolve => output.end(resolve))
  return { exitCode, timedOut, durationMs, file: relative(ctx.reportDir, file) }
}
