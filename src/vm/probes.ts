// Probes: commands run in the guest over the one SSH session, each with its own timeout, each
// recorded in probes/<name>.txt. A missing command is recorded, never a crash.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type { ProbeResult, ProbeSpec } from '../model/index.js'
import type { ExecResult } from './ssh.js'

export interface ProbeSession {
  exec(command: string, options: { timeoutMs: number }): Promise<ExecResult>
}

/** Exit 127, or a shell saying so, means the command does not exist on the guest. */
export function isMissingCommand(result: ExecResult): boolean {
  if (result.exitCode === 127) return true
  return (
    result.exitCode !== 0 &&
    result.exitCode !== null &&
    /(?:command not found|: not found|No such file or directory)\s*$/m.test(result.stderr) &&
    !result.stdout.trim()
  )
}

/** The text of probes/<name>.txt. */
export function renderProbeFile(spec: ProbeSpec, result: ExecResult, durationMs: number): string {
  const outcome = result.timedOut
    ? `timed out after ${spec.timeoutSeconds} s`
    : result.exitCode !== null
      ? String(result.exitCode)
      : `none (signal ${result.signal ?? 'unknown'})`
  return [
    `probe: ${spec.name}${spec.required ? '' : ' (optional)'}`,
    `command: ${spec.command}`,
    `exit code: ${outcome}`,
    `duration: ${(durationMs / 1000).toFixed(2)} s`,
    '',
    '--- stdout ---',
    result.stdout.replace(/\n?$/, '\n'),
    '--- stderr ---',
    result.stderr.replace(/\n?$/, '\n')
  ].join('\n')
}

export async function runProbes(
  session: ProbeSession,
  probes: ProbeSpec[],
  dir: string,
  ctx: StageContext
): Promise<ProbeResult[]> {
  mkdirSync(dir, { recursive: true })
  const results: ProbeResult[] = []
  for (const spec of probes) {
    if (ctx.signal.aborted) break
    const started = Date.now()
    const result = await session.exec(spec.command, { timeoutMs: spec.timeoutSeconds * 1000 })
    const durationMs = Date.now() - started
    const path = join(dir, `${spec.name}.txt`)
    writeFileSync(path, ctx.secrets.redact(renderProbeFile(spec, result, durationMs)))
    const missing = isMissingCommand(result)
    const probe: ProbeResult = {
      name: spec.name,
      command: spec.command,
      required: spec.required,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      missing,
      durationMs,
      file: relative(ctx.reportDir, path)
    }
    if (result.signal) probe.signal = result.signal
    results.push(probe)
    const passed = result.exitCode === 0 && !result.timedOut
    const what = result.timedOut
      ? `timed out after ${spec.timeoutSeconds} s`
      : missing
        ? 'command not found on the guest'
        : result.exitCode !== null
          ? `exit ${result.exitCode}`
          : result.signal
            ? `killed by signal ${result.signal}`
            : `no exit status (${result.stderr.trim().split('\n').pop() || 'unknown'})`
    const said = `${what} (${(durationMs / 1000).toFixed(1)} s)`
    // `what` may quote the guest's stderr: echoed, never printed as it is.
    if (passed || !spec.required) ctx.log.echo(`probe ${spec.name}`, said)
    else {
      ctx.log.warning(`probe ${spec.name}: ${said}; see ${probe.file}`, {
        title: `Probe ${spec.name} failed`
      })
    }
  }
  return results
}
