// For every derivation whose own builder failed: its whole log (`nix log`, or the lines the build
// events carried when the store keeps none), its derivation JSON, and an error annotation.
import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type { FailedDerivation, NixInstallation } from '../model/index.js'
import { MAX_QUERY_BYTES, run } from '../shared/process.js'
import type { BuildEvents } from './events.js'
import type { ParsedFailure } from './failures.js'
import { stripAnsi } from '../shared/nix-error.js'
import { allowedEnv } from '../shared/child-env.js'
import { CAPS } from '../shared/bounds.js'

/** Lines of the log kept in the report, annotations and the summary. */
export const TAIL_LINES = 25
/** The end of a failed derivation's log kept (the whole of it is `nix log`'s). */
const LOG_BYTES = CAPS.fileBytes

/** Where each failure's files go: failed/<name>.*, or <hash prefix>-<name> when names collide. */
export function failureFileNames(failures: ParsedFailure[]): string[] {
  const count = new Map<string, number>()
  for (const failure of failures) count.set(failure.name, (count.get(failure.name) ?? 0) + 1)
  return failures.map(failure => {
    const safe = failure.name.replace(/[^A-Za-z0-9._+-]/g, '_')
    if ((count.get(failure.name) ?? 0) < 2) return safe
    const hash = failure.drv.slice(failure.drv.lastIndexOf('/') + 1).slice(0, 8)
    return `${hash}-${safe}`
  })
}

function lines(text: string): string[] {
  const all = stripAnsi(text).replace(/\r/g, '').split('\n')
  while (all.length && all[all.length - 1] === '') all.pop()
  return all
}

async function fullLog(
  nix: NixInstallation,
  failure: ParsedFailure,
  events: BuildEvents,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal
): Promise<{ log: string[]; source: string }> {
  const result = await run(nix.nixPath, ['log', failure.drv], { env, signal, maxBytes: LOG_BYTES })
  if (result.exitCode === 0 && result.stdout.trim()) {
    const cut = result.cut?.stdout ? ` (its end: ${result.cut.stdout.note})` : ''
    return { log: lines(result.stdout), source: `nix log ${failure.drv}${cut}` }
  }
  const said = lines(result.startError ?? result.stderr).filter(l => l.startsWith('error:'))
  const why = said.length ? said.join(' ') : `exit code ${result.exitCode}`
  const captured = events.logOf(failure.drv)
  if (captured.length) {
    return { log: captured, source: `the build's events (nix log had none: ${why})` }
  }
  if (failure.tail.length) {
    return {
      log: failure.tail,
      source: `the tail Nix quoted in its error (nix log had none: ${why})`
    }
  }
  return { log: [], source: `nowhere: nix log had none (${why}) and the build printed nothing` }
}

async function derivationJson(
  nix: NixInstallation,
  drv: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal
): Promise<string> {
  const result = await run(nix.nixPath, [...nix.capabilities.derivationShow, drv], {
    env,
    signal,
    maxBytes: MAX_QUERY_BYTES
  })
  if (result.exitCode === 0) {
    try {
      return JSON.stringify(JSON.parse(result.stdout), null, 2) + '\n'
    } catch {
      return result.stdout
    }
  }
  const command = ['nix', ...nix.capabilities.derivationShow, drv].join(' ')
  const error = stripAnsi(result.startError ?? result.stderr).trim()
  return JSON.stringify({ error: `${command} failed: ${error}` }, null, 2) + '\n'
}

/**
 * Writes <dir>/failed/<name>.log and <dir>/failed/<name>.drv.json for each root failure, raises
 * one error annotation per failure, and returns them as the report records them.
 */
export async function collectFailureLogs(
  nix: NixInstallation,
  failures: ParsedFailure[],
  events: BuildEvents,
  dir: string,
  ctx: StageContext
): Promise<FailedDerivation[]> {
  const failedDir = join(dir, 'failed')
  await mkdir(failedDir, { recursive: true })
  const env = allowedEnv(ctx, nix.env)
  const names = failureFileNames(failures)
  const collected: FailedDerivation[] = []
  for (const [index, failure] of failures.entries()) {
    const { log, source } = await fullLog(nix, failure, events, env, ctx.signal)
    const logFile = join(failedDir, `${names[index]}.log`)
    const header = [`# ${failure.drv}`, `# ${failure.reason}`, `# log from ${source}`, '']
    await writeFile(logFile, ctx.secrets.redact([...header, ...log].join('\n') + '\n'))
    const json = await derivationJson(nix, failure.drv, env, ctx.signal)
    await writeFile(join(failedDir, `${names[index]}.drv.json`), ctx.secrets.redact(json))
    const tail = log.slice(-TAIL_LINES).map(line => ctx.secrets.redact(line))
    const shown = tail.length ? tail : failure.tail.map(line => ctx.secrets.redact(line))
    // 'local': what build-places.ts names this machine; a remote builder is worth a title.
    const remote = failure.machine && failure.machine !== 'local' ? ` on ${failure.machine}` : ''
    ctx.log.error(shown.join('\n') || `(no log) ${failure.drv}`, {
      title: `build failed${remote}: ${failure.name} — ${failure.reason}`
    })
    collected.push({
      drv: failure.drv,
      name: failure.name,
      reason: failure.reason,
      exitCode: failure.exitCode,
      log: relative(ctx.reportDir, logFile),
      tail: shown,
      ...(failure.machine ? { machine: failure.machine } : {})
    })
  }
  return collected
}
