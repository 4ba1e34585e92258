// The thin process runner every short command goes through: an argument array in, the exit code
// and the whole output back, lines streamed as they arrive. Never a shell string.
import * as exec from '@actions/exec'
import { readdirSync, readFileSync } from 'node:fs'

export interface RunOptions {
  cwd?: string
  /** The complete environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv
  input?: string
  onStdoutLine?: (line: string) => void
  onStderrLine?: (line: string) => void
}

export interface RunResult {
  /** null when the program could not be started. */
  exitCode: number | null
  stdout: string
  stderr: string
  /** Set when the program could not be started (not found, not executable). */
  startError?: string
}

/** Splits a byte stream into lines, handing each complete line on and the last one at the end. */
export class LineSplitter {
  private pending = ''
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const parts = (this.pending + chunk).split('\n')
    this.pending = parts.pop() ?? ''
    for (const part of parts) this.onLine(part.endsWith('\r') ? part.slice(0, -1) : part)
  }
  end(): void {
    if (this.pending) this.onLine(this.pending)
    this.pending = ''
  }
}

export async function run(
  command: string,
  args: string[],
  options: RunOptions = {}
): Promise<RunResult> {
  const stdout: string[] = []
  const stderr: string[] = []
  const outLines = new LineSplitter(line => options.onStdoutLine?.(line))
  const errLines = new LineSplitter(line => options.onStderrLine?.(line))
  try {
    const exitCode = await exec.exec(command, args, {
      cwd: options.cwd,
      env: stringEnv(options.env ?? process.env),
      input: options.input === undefined ? undefined : Buffer.from(options.input),
      silent: true,
      ignoreReturnCode: true,
      listeners: {
        stdout: data => {
          const text = data.toString()
          stdout.push(text)
          outLines.push(text)
        },
        stderr: data => {
          const text = data.toString()
          stderr.push(text)
          errLines.push(text)
        }
      }
    })
    outLines.end()
    errLines.end()
    return { exitCode, stdout: stdout.join(''), stderr: stderr.join('') }
  } catch (error) {
    return {
      exitCode: null,
      stdout: stdout.join(''),
      stderr: stderr.join(''),
      startError: errorMessage(error)
    }
  }
}

/** The environment with unset entries dropped, as child_process wants it. */
export function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value
  return out
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Sends a signal to every process this one started (a cancelled job must not leave a `nix build`
 * or `nix develop` running). @actions/exec hands out no child handle, so the kernel's list is read.
 */
export function signalChildren(signal: NodeJS.Signals = 'SIGTERM'): number[] {
  const pids: number[] = []
  let tasks: string[] = []
  try {
    tasks = readdirSync('/proc/self/task')
  } catch {
    return pids
  }
  for (const task of tasks) {
    let children = ''
    try {
      children = readFileSync(`/proc/self/task/${task}/children`, 'utf8')
    } catch {
      continue
    }
    for (const pid of children.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, signal)
        pids.push(pid)
      } catch {
        // Already gone.
      }
    }
  }
  return pids
}
