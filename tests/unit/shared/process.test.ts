// The one process runner, with real processes: lines split where the Actions runner splits them,
// over-long lines and over-long output bounded (and the cut said), and a child ended by its owner
// (its abort signal, its timeout) together with what it started — and nothing else.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { run, start } from '../../../src/shared/process.js'

const MiB = 1024 * 1024
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

/** Whether a process is alive (a zombie is not). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}

/** The pids of every process in a process group. */
function groupMembers(group: number): number[] {
  const members: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // Fields after the command's closing parenthesis: state, ppid, pgrp, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) === group && fields[0] !== 'Z') members.push(Number(name))
    } catch {
      // gone
    }
  }
  return members
}

const until = async (check: () => boolean, ms = 10_000): Promise<void> => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error('condition not met in time')
    await new Promise(r => setTimeout(r, 50))
  }
}

/** A process started apart from the runner, to prove a stop leaves it alone. */
const siblings: number[] = []
function sibling(): number {
  const child = spawn('sleep', ['100'], { stdio: 'ignore' })
  siblings.push(child.pid!)
  return child.pid!
}
afterAll(() => {
  for (const pid of siblings) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
})

/** A tree: bash, a background sleep (the grandchild) it waits for, its pid printed first. */
const TREE = ['-c', 'sleep 100 & echo "grandchild $!"; wait']

describe('run: output', () => {
  it('splits lines at \\r\\n, \\r and \\n, on both streams, and keeps the text whole', async () => {
    const out: string[] = []
    const err: string[] = []
    const result = await run('printf', ['a\\r\\nb\\rc\\nd\\r\\re\\n\\nlast'], {
      env: ENV,
      onStdoutLine: line => out.push(line),
      onStderrLine: line => err.push(line)
    })
    expect(out).toEqual(['a', 'b', 'c', 'd', '', 'e', '', 'last'])
    expect(err).toEqual([])
    expect(result).toMatchObject({ exitCode: 0, stdout: 'a\r\nb\rc\nd\r\re\n\nlast' })
    const both = await run('bash', ['-c', 'printf "x\\r::warning::y\\n" >&2'], {
      env: ENV,
      onStderrLine: line => err.push(line)
    })
    expect(both.exitCode).toBe(0)
    expect(err).toEqual(['x', '::warning::y'])
  })

  it('a \\r\\n split across two writes is one line end', async () => {
    const out: string[] = []
    await run('bash', ['-c', 'printf "a\\r"; sleep 0.2; printf "\\nb\\n"'], {
      env: ENV,
      onStdoutLine: line => out.push(line)
    })
    expect(out).toEqual(['a', 'b'])
  })

  it('cuts an over-long line at 64 KiB and says how long it was', async () => {
    const out: string[] = []
    await run('bash', ['-c', 'head -c 1048576 /dev/zero | tr "\\0" x; echo; echo next'], {
      env: ENV,
      onStdoutLine: line => out.push(line)
    })
    expect(out).toHaveLength(2)
    expect(out[0].startsWith('x'.repeat(65536) + ' … [line cut at 64.0 KiB of 1.0 MiB]')).toBe(true)
    expect(out[0]).toHaveLength(65536 + ' … [line cut at 64.0 KiB of 1.0 MiB]'.length)
    expect(out[1]).toBe('next')
  })

  it('keeps at most maxBytes of a 200 MB output, its end, and says how much was cut', async () => {
    const result = await run(
      'bash',
      ['-c', 'head -c 200000000 /dev/zero | tr "\\0" y; printf "\\nthe end\\n"'],
      { env: ENV, maxBytes: MiB }
    )
    expect(result.exitCode).toBe(0)
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(MiB)
    expect(result.stdout.endsWith('yyy\nthe end\n')).toBe(true)
    expect(result.cut?.stdout).toEqual({
      keptBytes: MiB,
      totalBytes: 200_000_009,
      note: 'cut at 1.0 MiB of 190.7 MiB'
    })
    expect(result.cut?.stderr).toBeUndefined()
  })

  it('says a missing program could not be started', async () => {
    const result = await run('/nonexistent/program', ['--version'], { env: ENV })
    expect(result).toMatchObject({ exitCode: null, timedOut: false, aborted: false })
    expect(result.startError).toMatch(/ENOENT/)
  })

  it('writes input to stdin and closes it', async () => {
    const result = await run('cat', [], { env: ENV, input: 'fed\n' })
    expect(result).toMatchObject({ exitCode: 0, stdout: 'fed\n' })
  })
})

describe('run: ended by its owner, with what it started, and nothing else', () => {
  it('the abort signal ends the child and its grandchild; a sibling survives', async () => {
    const other = sibling()
    const stop = new AbortController()
    let grandchild = 0
    const started = start('bash', TREE, {
      env: ENV,
      signal: stop.signal,
      onStdoutLine: line => (grandchild = Number(/^grandchild (\d+)/.exec(line)?.[1] ?? 0))
    })
    await until(() => grandchild > 0)
    expect(groupMembers(started.pid!).sort()).toEqual([started.pid!, grandchild].sort())
    stop.abort()
    const result = await started.done
    expect(result).toMatchObject({ aborted: true, timedOut: false, exitCode: null })
    expect(result.signal).toBe('SIGTERM')
    await until(() => !alive(grandchild))
    expect(groupMembers(started.pid!)).toEqual([])
    expect(alive(other)).toBe(true)
  })

  it('the timeout does the same', async () => {
    const other = sibling()
    let grandchild = 0
    const result = await run('bash', TREE, {
      env: ENV,
      timeoutMs: 500,
      onStdoutLine: line => (grandchild = Number(/^grandchild (\d+)/.exec(line)?.[1] ?? 0))
    })
    expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: null })
    expect(grandchild).toBeGreaterThan(0)
    await until(() => !alive(grandchild))
    expect(alive(other)).toBe(true)
  })

  it('SIGKILLs a child that ignores SIGTERM once the grace has passed', async () => {
    const stop = new AbortController()
    const lines: string[] = []
    const started = start('bash', ['-c', 'trap "" TERM; echo ready; sleep 100 & wait'], {
      env: ENV,
      signal: stop.signal,
      graceMs: 300,
      onStdoutLine: line => lines.push(line)
    })
    await until(() => lines.includes('ready'))
    stop.abort()
    const result = await started.done
    expect(result).toMatchObject({ aborted: true, signal: 'SIGKILL' })
    expect(groupMembers(started.pid!)).toEqual([])
  })

  it('a time bound that has passed already starts nothing', async () => {
    const result = await run('bash', ['-c', 'echo ran'], { env: ENV, timeoutMs: 0 })
    expect(result).toMatchObject({ timedOut: true, exitCode: null, stdout: '' })
  })

  it('a signal that fired already starts nothing', async () => {
    const stop = new AbortController()
    stop.abort()
    const result = await run('bash', ['-c', 'echo ran'], { env: ENV, signal: stop.signal })
    expect(result).toMatchObject({ aborted: true, exitCode: null, stdout: '' })
  })

  it('what a finished command left running in its group goes with it', async () => {
    let grandchild = 0
    const result = await run('bash', ['-c', 'sleep 100 >/dev/null & echo "grandchild $!"'], {
      env: ENV,
      onStdoutLine: line => (grandchild = Number(/^grandchild (\d+)/.exec(line)?.[1] ?? 0))
    })
    expect(result.exitCode).toBe(0)
    await until(() => !alive(grandchild))
  })
})

describe('start: a long-lived child', () => {
  it('takes stdin as it runs, counts its bytes, and stops with the signal asked for', async () => {
    const lines: string[] = []
    const started = start('cat', [], {
      env: ENV,
      stdin: 'pipe',
      onStdoutLine: line => lines.push(line)
    })
    started.stdin!.write('one\n')
    await until(() => lines.length === 1)
    expect(started.bytes()).toEqual({ stdout: 4, stderr: 0 })
    started.stop('SIGKILL')
    const result = await started.done
    expect(result).toMatchObject({ signal: 'SIGKILL', aborted: false, stdout: 'one\n' })
  })
})
