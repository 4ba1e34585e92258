// Part of `npm run bench` (scripts/bench.ts, the runner): timed processes, argument arrays only.
import { spawn, spawnSync } from 'node:child_process'

export interface Timed {
  code: number | null
  durationMs: number
  stdout: string
  stderr: string
}

/** Runs command (an argument array), returns its exit code, wall time and output. */
export function timed(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    }, options.timeoutMs ?? 600_000)
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      resolve({ code, durationMs: performance.now() - started, stdout, stderr })
    })
  })
}

export function firstLine(command: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env: env ?? process.env })
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0] || 'unknown'
}
