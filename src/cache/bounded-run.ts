// A process run with a time bound of its own, for the cache's nix calls (the import, the
// substituter queries, the writes): when the bound passes, this one process is killed, and nothing
// else. (signalChildren would also stop what runs beside the cache, e.g. the KVM check's QEMU.)
import { spawn } from 'node:child_process'
import type { RunResult } from '../process.js'

export type BoundedResult = RunResult & { timedOut: boolean }

export function runBounded(
  command: string,
  args: string[],
  options: { env: Record<string, string>; timeoutMs: number }
): Promise<BoundedResult> {
  return new Promise(resolve => {
    if (options.timeoutMs <= 0) {
      resolve({ exitCode: null, stdout: '', stderr: '', timedOut: true })
      return
    }
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    let timedOut = false
    const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      // Nix finishes the path it is writing on SIGTERM; a hung one gets SIGKILL.
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
    }, options.timeoutMs)
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    const done = (exitCode: number | null, startError?: string): void => {
      clearTimeout(timer)
      resolve({
        exitCode,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
        ...(startError ? { startError } : {})
      })
    }
    child.on('error', error => done(null, error.message))
    child.on('close', code => done(timedOut ? null : code))
  })
}
