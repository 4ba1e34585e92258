// The env-diff stage: capture the build's own context and the devshell's, diff them, and write
// env/diff.md, env/diff.json, env/host.env and env/devshell.env (schema: docs/env-diff.md).
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type { EnvDiffResult, NixInstallation } from '../model/index.js'
import { errorMessage } from '../shared/process.js'
import type { Secrets } from '../shared/secrets.js'
import { captureContexts, type CaptureRequest, type Captures } from './env-capture.js'
import { contextFacts, diffEnvironments, redactEnv, renderDiffMarkdown } from './env-diff.js'
import type { ContextCapture, EnvDiffReport } from './types.js'
import { allowedEnv } from '../shared/child-env.js'

export const ENV_FILES = ['env/diff.md', 'env/diff.json', 'env/host.env', 'env/devshell.env']

/** `NAME=value` lines sorted by name; a backslash or line break in a value is escaped (\\, \n). */
export function renderEnvFile(env: Record<string, string>): string {
  const escape = (value: string) =>
    value.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n')
  return Object.keys(env)
    .sort()
    .map(name => `${name}=${escape(env[name])}\n`)
    .join('')
}

export async function diffBuildEnvironment(
  nix: NixInstallation,
  request: CaptureRequest,
  ctx: StageContext
): Promise<EnvDiffResult> {
  const started = Date.now()
  const dir = join(ctx.reportDir, 'env')
  await mkdir(dir, { recursive: true })
  const installable = `${request.flake}#${request.devshell}`
  let captures: Captures
  try {
    captures = await captureContexts(nix, request, {
      // What the build gets (src/shared/child-env.ts): the diff compares what the build really sees.
      env: allowedEnv(ctx),
      tempDir: ctx.tempDir,
      debug: message => ctx.log.debug(message),
      signal: ctx.signal
    })
  } catch (error) {
    return captureFailed(dir, errorMessage(error), started, ctx.secrets)
  }
  const { host, devshell } = withoutSecrets(captures, ctx.secrets)
  const { verdicts, differences } = diffEnvironments(host, devshell, {
    image: request.image,
    installable,
    keyNames: Object.keys(request.keyEnv),
    // TMPDIR's weight follows where the action's builds run (setup decided it).
    storeMode: nix.storeMode
  })
  const error = devshell.ok ? undefined : `nix develop ${installable} failed: ${devshell.error}`
  const result: EnvDiffResult = {
    ok: devshell.ok,
    ...(error ? { error } : {}),
    verdicts,
    differences,
    durationMs: Date.now() - started
  }
  await writeEnvFiles(dir, diffReport(result, request, host, devshell), host, devshell, ctx.secrets)
  for (const verdict of verdicts.slice(0, 6)) ctx.log.echo('env', ctx.secrets.redact(verdict))
  ctx.log.info(
    `env diff: ${differences.length} differences; capture took ${result.durationMs} ms (host ${host.durationMs} ms, devshell ${devshell.durationMs} ms)`
  )
  return {
    ...result,
    verdicts: verdicts.map(v => ctx.secrets.redact(v)),
    ...(error ? { error: ctx.secrets.redact(error) } : {})
  }
}

/** The capture threw: a result that says so, written as env/diff.json alone. */
async function captureFailed(
  dir: string,
  reason: string,
  started: number,
  secrets: Secrets
): Promise<EnvDiffResult> {
  const message = `the environment capture failed: ${reason}`
  const result = { ok: false, error: message, verdicts: [], differences: [], durationMs: 0 }
  result.durationMs = Date.now() - started
  await writeFile(join(dir, 'diff.json'), secrets.redact(JSON.stringify(result, null, 2)))
  return result
}

/** A devshell can bring secrets of its own: mask them in the job log, keep them out of files. */
function withoutSecrets(
  captures: Captures,
  secrets: Secrets
): { host: ContextCapture; devshell: ContextCapture } {
  secrets.addFromEnvironment(captures.host.env)
  secrets.addFromEnvironment(captures.devshell.env)
  const redacted = (c: ContextCapture): ContextCapture => ({
    ...c,
    env: redactEnv(c.env, secrets)
  })
  return { host: redacted(captures.host), devshell: redacted(captures.devshell) }
}

/** env/diff.json's content: the result, what was asked, each context's facts, the files written. */
function diffReport(
  result: EnvDiffResult,
  request: CaptureRequest,
  host: ContextCapture,
  devshell: ContextCapture
): EnvDiffReport {
  const keyNames = Object.keys(request.keyEnv)
  const files = devshell.ok ? ENV_FILES : ENV_FILES.filter(f => f !== 'env/devshell.env')
  return {
    schemaVersion: 1,
    ...result,
    request: { flake: request.flake, image: request.image, devshell: request.devshell, keyNames },
    contexts: { host: contextFacts(host), devshell: contextFacts(devshell) },
    files
  }
}

/** env/diff.md, env/diff.json, env/host.env and (when nix develop ran) env/devshell.env. */
async function writeEnvFiles(
  dir: string,
  report: EnvDiffReport,
  host: ContextCapture,
  devshell: ContextCapture,
  secrets: Secrets
): Promise<void> {
  // Last guard: any registered secret left anywhere (an error message, a setting) becomes ***.
  const write = (name: string, text: string) => writeFile(join(dir, name), secrets.redact(text))
  await Promise.all([
    write('diff.md', renderDiffMarkdown(report)),
    write('diff.json', JSON.stringify(report, null, 2) + '\n'),
    write('host.env', renderEnvFile(host.env)),
    devshell.ok ? write('devshell.env', renderEnvFile(devshell.env)) : Promise.resolve()
  ])
}
