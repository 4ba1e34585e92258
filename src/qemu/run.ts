// The provisioning's process runner: an argument array, the whole output, and a stop signal that
// ends the process (SIGTERM, then SIGKILL) — the pipeline stops a provisioning nobody needs any
// more (the build failed) without touching the other branches' processes.
import { spawn } from 'node:child_process'

export interface StoppableRun {
  exitCode: number | null
  stdout: string
  stderr: string
  startError?: string
  /** The signal ended it (or it never started because the signal had fired). */
  stopped: boolean
}

const KILL_AFTER_MS = 5_000

export function runStoppable(
  command: string,
  args: string[],
  options: { env: Record<string, string>; signal?: AbortSignal; onLine?: (line: string) => void }
): Promise<StoppableRun> {
  const { signal } = options
  if (signal?.aborted)
    return Promise.resolve({ exitCode: null, stdout: '', stderr: '', stopped: true })
  return new Promise(resolve => {
    const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let stopped = false
    let startError: string | undefined
    let killTimer: NodeJS.Timeout | undefined
    const stop = (): void => {
      stopped = true
      child.kill('SIGTERM')
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
    }
    // A crash of this process must not leave the provisioning running.
    const killOnExit = (): void => void child.kill('SIGKILL')
    process.once('exit', killOnExit)
    signal?.addEventListener('abort', stop, { once: true })
    const lines = (chunk: string): void => {
      if (options.onLine)
        for (const line of chunk.split('\n')) if (line.trim()) options.onLine(line)
    }
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      lines(chunk)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      lines(chunk)
    })
    child.on('error', error => (startError = error.message))
    child.on('close', code => {
      clearTimeout(killTimer)
      process.off('exit', killOnExit)
      signal?.removeEventListener('abort', stop)
      resolve({ exitCode: startError ? null : code, stdout, stderr, startError, stopped })
    })
  })
}

/** Waits ms, or less when the signal fires first. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal?.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** The last line that says what went wrong (apt's `E:`, Nix's `error:`), or the last line. */
export function lastError(text: string): string {
  const lines = text
    .replace(/\r/g, '')
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
  const errors = lines.filter(line => /^(E:|error:|sudo:)/.test(line))
  return (errors[errors.length - 1] ?? lines[lines.length - 1] ?? 'no output').slice(0, 500)
}
