// Uploads the report directory as a workflow artifact — after a last scan that withholds (deletes)
// any file holding a secret. The upload never throws and never hangs the step: a failure, a
// refusing or an unresponsive results service all end as status 'failed' with a warning. A
// failure another try can fix (a rate limit, a 5xx, a storage error) is tried again as a whole,
// honouring Retry-After, within a bound (upload-retry.ts).
import { actionsArtifact } from '../shared/toolkit.js'
import { withTimeout } from '../shared/deadline.js'
import { UPLOAD_BUDGET_MS, retryWithinBudget } from './upload-retry.js'
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Log } from '../shared/log.js'
import type { UploadResult } from '../model/index.js'
import { errorMessage } from '../shared/process.js'
import type { Secrets } from '../shared/secrets.js'
import { sortReportFiles, type SortedReport } from './report-scan.js'

export { scanForSecrets } from './report-scan.js'

export interface UploadReportOptions {
  reportDir: string
  name: string
  /** 1-90; undefined keeps the repository's default. */
  retentionDays?: number
  secrets: Secrets
  log: Log
  /** Bound on the whole upload, retries, waits and renaming included. Default 120 s. */
  timeoutMs?: number
  /** Where GITHUB_* come from (the artifact client itself always reads process.env). */
  env?: NodeJS.ProcessEnv
}

/** Characters the artifact service refuses in an artifact name (as in a path, and slashes). */
const INVALID_NAME_CHARS = /[":<>|*?\r\n\\/]/g

export async function uploadReport(options: UploadReportOptions): Promise<UploadResult> {
  const { reportDir, secrets, log } = options
  const env = options.env ?? process.env
  let withheld: string[] = []
  try {
    const sorted = await sortReportFiles(reportDir, secrets)
    withheld = sorted.withheld
    await withholdAndWarn(reportDir, sorted, log)
    const { files } = sorted
    const withheldNote =
      withheld.length > 0 ? `; ${count(withheld.length, 'file')} withheld (secret)` : ''
    if (files.length === 0) {
      return { status: 'skipped', detail: `no files to upload${withheldNote}`, withheld }
    }
    if (!env.ACTIONS_RUNTIME_TOKEN || !env.ACTIONS_RESULTS_URL) {
      throw new Error('the runner gave no ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL')
    }
    const uploaded = await uploadWithRetries(options, files, env)
    const url = artifactUrl(uploaded.id, env)
    log.info(
      `Report uploaded as artifact "${uploaded.name}" (id ${uploaded.id})${url ? `: ${url}` : ''}`
    )
    return {
      status: 'uploaded',
      artifactId: uploaded.id,
      name: uploaded.name,
      ...(url ? { artifactUrl: url } : {}),
      detail:
        `${count(files.length, 'file')} (${uploaded.size ?? '?'} bytes zipped) as ` +
        `"${uploaded.name}"${withheldNote}`,
      withheld
    }
  } catch (error) {
    const message = secrets.redact(scrubUrls(errorMessage(error)))
    log.warning(`The report was not uploaded: ${message}. It is still in ${reportDir}.`, {
      title: 'Report upload failed'
    })
    return { status: 'failed', detail: `upload failed: ${message}`, withheld }
  }
}

/** Deletes the files that hold a secret; warns about them and about what was left out. */
async function withholdAndWarn(reportDir: string, sorted: SortedReport, log: Log): Promise<void> {
  for (const path of sorted.withheld) {
    await rm(join(reportDir, path), { force: true })
    log.warning(
      `${path} was withheld from the report artifact and deleted: it contains the value of a secret.`,
      { title: 'Report file withheld' }
    )
  }
  if (sorted.excluded.length > 0) {
    log.warning(`Left out of the report artifact: ${sorted.excluded.join(', ')}.`, {
      title: 'Report files left out'
    })
  }
}

/** The upload, tried again as a whole on a failure another try can fix, all within the timeout. */
function uploadWithRetries(
  options: UploadReportOptions,
  files: string[],
  env: NodeJS.ProcessEnv
): Promise<{ id: number; size?: number; name: string }> {
  const { name, reportDir, secrets, log } = options
  const timeoutMs = options.timeoutMs ?? UPLOAD_BUDGET_MS
  const attempt = (n: number) =>
    uploadUnderFreeName(name, files, reportDir, options.retentionDays, env, log, n)
  const onRetry = (message: string, waitMs: number): void =>
    log.info(
      `The report upload failed (${secrets.redact(scrubUrls(message))}); ` +
        `trying again in ${Math.ceil(waitMs / 1000)} s.`
    )
  return withTimeout(
    retryWithinBudget(attempt, { budgetMs: timeoutMs, onRetry }),
    timeoutMs,
    `the results service did not finish the upload within ${Math.round(timeoutMs / 1000)} s`
  )
}

/**
 * The artifact names tried, in order. Artifact names are unique per workflow run, and several
 * uses of this action in one run (other jobs, matrix legs, a second step in the same job) would
 * all want the default name. So when the service refuses a name as taken (409 already exists):
 *   1. `<name>`
 *   2. `<name>-<GITHUB_JOB>-<GITHUB_ACTION>` — the job id and the step id, unique within a run
 *      except across matrix legs and re-run attempts, which share both
 *   3. `<name>-<GITHUB_JOB>-<GITHUB_ACTION>-<6 hex of the job run's backend id>` — that id (from
 *      the runtime token) is unique per job run, matrix legs and attempts included
 * Any other failure ends the upload: only a taken name is worth another try.
 */
export function artifactNameCandidates(name: string, env: NodeJS.ProcessEnv): string[] {
  const clean = (part: string | undefined): string =>
    (part ?? '').replace(INVALID_NAME_CHARS, '-').replace(/^[_-]+|[_-]+$/g, '')
  const job = clean(env.GITHUB_JOB)
  const step = clean(env.GITHUB_ACTION)
  const base = [name, job, step].filter(Boolean).join('-')
  const jobRun = jobBackendId(env.ACTIONS_RUNTIME_TOKEN) ?? `${Date.now()}-${Math.random()}`
  const unique = createHash('sha256').update(jobRun).digest('hex').slice(0, 6)
  return [...new Set([name, base, `${base}-${unique}`])]
}

async function uploadUnderFreeName(
  name: string,
  files: string[],
  reportDir: string,
  retentionDays: number | undefined,
  env: NodeJS.ProcessEnv,
  log: Log,
  attempt = 1
): Promise<{ id: number; size?: number; name: string }> {
  const client = new (await actionsArtifact()).DefaultArtifactClient()
  const candidates = artifactNameCandidates(name, env)
  // An earlier attempt that failed after CreateArtifact may still hold the name it took (the
  // service does not say whether an unfinished artifact frees its name): a retry has one more.
  if (attempt > 1) candidates.push(`${candidates[candidates.length - 1]}-retry${attempt}`)
  for (const [index, candidate] of candidates.entries()) {
    try {
      const result = await client.uploadArtifact(candidate, files, reportDir, {
        ...(retentionDays ? { retentionDays } : {})
      })
      if (result.id === undefined) throw new Error('the results service returned no artifact id')
      return { id: result.id, size: result.size, name: candidate }
    } catch (error) {
      const taken = /\(409\)|already exists/i.test(errorMessage(error))
      if (!taken || index === candidates.length - 1) throw error
      log.info(`An artifact named "${candidate}" already exists in this run; trying another name.`)
    }
  }
  throw new Error('no artifact name left to try')
}

/** The artifact's page; the toolkit returns only the id. */
function artifactUrl(id: number, env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env
  if (!repository || !runId) return undefined
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')
  return `${server}/${repository}/actions/runs/${runId}/artifacts/${id}`
}

/** The job run's backend id from the runtime token's `Actions.Results:<run>:<job>` scope. */
function jobBackendId(token: string | undefined): string | undefined {
  try {
    const payload = JSON.parse(
      Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString('utf8')
    ) as { scp?: unknown }
    const scope = String(payload.scp ?? '')
      .split(' ')
      .find(part => part.startsWith('Actions.Results:'))
    return scope?.split(':')[2] || undefined
  } catch {
    return undefined
  }
}

/** Signed URLs carry their signature in the query: never let one reach a report or summary. */
function scrubUrls(text: string): string {
  return text.replace(/(https?:\/\/[^\s?'"]+)\?[^\s'"]*/g, '$1')
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
