// The one process runner: every child this action starts goes through start() or run(). An
// argument array in (never a shell string); the child in a process group of its own, ended by its
// owner (the stage's abort signal, its own timeout, stop()) and by nothing else; output split into
// bounded lines as it arrives, and a bounded tail of each stream kept.
// Built on node:child_process: @actions/exec hands out no child handle (no signal, no group).
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { LineSplitter, OutputTail, type Cut } from './process-output.js'

export { LineSplitter, MAX_QUERY_BYTES, type Cut } from './process-output.js'

export interface RunOptions {
  cwd?: string
  /** The complete environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv
  /** Written to the child's stdin, which is then closed (default: stdin is /dev/null). */
  input?: string
  /** Aborting it ends the child (SIGTERM to its group, SIGKILL after graceMs). */
  signal?: AbortSignal
  /** After this long the child is ended the same way. */
  timeoutMs?: number
  /** Between SIGTERM and SIGKILL (default 5 s: Nix finishes the path it is writing). */
  graceMs?: number
  onStdoutLine?: (line: string) => void
  onStderrLine?: (line: string) => void
  /** The tail of each stream kept in memory (default 1 MiB). */
  maxBytes?: number
}

export interface RunResult {
  /** null when the program could not be started, a signal ended it, or its owner did. */
  exitCode: number | null
  /** The signal that ended it. */
  signal?: NodeJS.Signals
  /** The last maxBytes of each stream. */
  stdout: string
  stderr: string
  /** Set when the program could not be started (not found, not executable). */
  startError?: string
  timedOut: boolean
  /** The abort signal ended it (or it was never started because the signal had fired). */
  aborted: boolean
  /** What was left out of stdout and stderr, when they were longer than maxBytes. */
  cut?: { stdout?: Cut; stderr?: Cut }
}

/** A started child: its pid, its stdin (with `stdin: 'pipe'`), its end, and a way to end it. */
export interface Started {
  pid?: number
  stdin: Writable | null
  /** Settles when the child has exited and its output is read; never rejects. */
  done: Promise<RunResult>
  /** Bytes the child has written so far. */
  bytes(): { stdout: number; stderr: number }
  /** Sends signal to the child's process group (default: SIGTERM, then SIGKILL after graceMs). */
  stop(signal?: NodeJS.Signals): void
}

export interface StartOptions extends RunOptions {
  /** 'pipe' to write to the child as it runs (Started.stdin). */
  stdin?: 'pipe'
}

/** Process groups of children still running: a crash of this process must not leave them. */
const liveGroups = new Set<number>()
process.once('exit', () => {
  for (const group of liveGroups) signalGroupOf(group, 'SIGKILL')
})

const GRACE_MS = 5_000
/** How long the pipes may stay open after the child exited (a grandchild holding them). */
const CLOSE_WAIT_MS = 2_000

/** Runs a command to its end: start() and wait. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return start(command, args, options).done
}

export function start(command: string, args: string[], options: StartOptions = {}): Started {
  if (options.signal?.aborted) return notStarted({ aborted: true })
  if (options.timeoutMs !== undefined && options.timeoutMs <= 0)
    return notStarted({ timedOut: true })
  let child: ChildProcess
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: stringEnv(options.env ?? process.env),
      stdio: [options.stdin ?? (options.input === undefined ? 'ignore' : 'pipe'), 'pipe', 'pipe'],
      // Its own process group: ending it ends what it started, and nothing else.
      detached: true
    })
  } catch (error) {
    return notStarted({ startError: errorMessage(error) })
  }
  return own(child, options)
}

function notStarted(how: Partial<RunResult>): Started {
  const result = { exitCode: null, stdout: '', stderr: '', timedOut: false, aborted: false, ...how }
  return {
    stdin: null,
    done: Promise.resolve(result),
    bytes: () => ({ stdout: 0, stderr: 0 }),
    stop: () => undefined
  }
}

/** The child's output followed, its ends wired (signal, timeout, this process's exit). */
function own(child: ChildProcess, options: StartOptions): Started {
  const out = follow(child.stdout, options.maxBytes, options.onStdoutLine)
  const err = follow(child.stderr, options.maxBytes, options.onStderrLine)
  child.stdin?.on('error', () => undefined)
  if (options.input !== undefined) child.stdin?.end(options.input)
  const ended = { timedOut: false, aborted: false }
  let killTimer: NodeJS.Timeout | undefined
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid) signalGroupOf(child.pid, signal)
  }
  const stop = (signal?: NodeJS.Signals): void => {
    if (signal) return signalGroup(signal)
    signalGroup('SIGTERM')
    killTimer ??= setTimeout(() => signalGroup('SIGKILL'), options.graceMs ?? GRACE_MS)
  }
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  const onAbort = (): void => {
    if (!running()) return
    ended.aborted = true
    stop()
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          if (!running()) return
          ended.timedOut = true
          stop()
        }, options.timeoutMs)
  const group = child.pid
  if (group) liveGroups.add(group)
  const done = settle(child, [out, err], signalGroup).then(exit => {
    clearTimeout(timer)
    clearTimeout(killTimer)
    if (group) liveGroups.delete(group)
    options.signal?.removeEventListener('abort', onAbort)
    return result(exit, out, err, ended)
  })
  const bytes = (): { stdout: number; stderr: number } => ({
    stdout: out.tail.bytes,
    stderr: err.tail.bytes
  })
  return { pid: child.pid, stdin: child.stdin, done, bytes, stop }
}

function signalGroupOf(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal)
  } catch {
    // The group is gone.
  }
}

interface Followed {
  tail: OutputTail
  lines?: LineSplitter
  closed: Promise<void>
}

function follow(
  stream: NodeJS.ReadableStream | null,
  maxBytes: number | undefined,
  onLine: ((line: string) => void) | undefined
): Followed {
  const tail = new OutputTail(maxBytes)
  const lines = onLine ? new LineSplitter(onLine) : undefined
  const closed = new Promise<void>(resolve => {
    if (!stream) return resolve()
    stream.on('data', (chunk: Buffer) => {
      tail.push(chunk)
      lines?.push(chunk)
    })
    stream.on('error', () => resolve())
    stream.on('close', () => resolve())
  })
  return { tail, lines, closed }
}

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  startError?: string
}

/** The child's exit, once its pipes are closed (or, should a grandchild hold them, soon after). */
function settle(
  child: ChildProcess,
  streams: Followed[],
  signalGroup: (signal: NodeJS.Signals) => void
): Promise<Exit> {
  return new Promise(resolve => {
    child.once('error', error => resolve({ code: null, signal: null, startError: error.message }))
    child.once('exit', (code, signal) => {
      // What the child left running in its group is an orphan of a finished command.
      signalGroup('SIGKILL')
      const closed = Promise.all(streams.map(stream => stream.closed))
      const late = new Promise(r => setTimeout(r, CLOSE_WAIT_MS).unref())
      void Promise.race([closed, late]).then(() => {
        // A process that left the group still holds them: the output ends here.
        child.stdout?.destroy()
        child.stderr?.destroy()
        resolve({ code, signal })
      })
    })
  })
}

function result(
  exit: Exit,
  out: Followed,
  err: Followed,
  ended: { timedOut: boolean; aborted: boolean }
): RunResult {
  out.lines?.end()
  err.lines?.end()
  const stdout = out.tail.read()
  const stderr = err.tail.read()
  const cut = stdout.cut || stderr.cut ? { stdout: stdout.cut, stderr: stderr.cut } : undefined
  return {
    // Ended by its owner, it did not finish: whatever code it exited with says nothing.
    exitCode: exit.startError || ended.timedOut || ended.aborted ? null : exit.code,
    ...(exit.signal ? { signal: exit.signal } : {}),
    stdout: stdout.text,
    stderr: stderr.text,
    ...(exit.startError ? { startError: exit.startError } : {}),
    ...ended,
    ...(cut ? { cut } : {})
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
 * The last resort of main's cancel handler: a signal to every process this one started, and to
 * its process group (each child leads one). The runner's owners end their children first.
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
      if (signalProcess(pid, signal)) pids.push(pid)
    }
  }
  return pids
}

/** The process's group when it leads one (the runner's children do), else the process alone. */
function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal)
      return true
    } catch {
      // Not a group leader, or already gone.
    }
  }
  return false
}
