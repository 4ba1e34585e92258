// The report upload, retried as a whole. @actions/artifact retries each request itself (5 attempts,
// 3 s growing by 1.5×, about 25 s) and ignores Retry-After, so a rate limit that lasts half a
// minute, or a storage error that outlives the blob SDK's own retries, would cost the report —
// which the runner's disk does not keep. Here the whole upload is tried again, after at least
// what the service asked for in Retry-After, until a bound; past it, the error says how long.
import { capLine, CAPS } from '../shared/bounds.js'
import { errorMessage } from '../shared/process.js'

/** How long the upload may keep trying, in all (attempts and waits). */
export const UPLOAD_BUDGET_MS = 120_000

/** Failures that another attempt cannot fix: refused requests, a used-up quota, bad input. */
const FINAL =
  /non-retryable|storage quota|insufficient usage|not currently supported on GHES|No files were found|Invalid|\((?:400|401|403|404|409|422)\)/i

/** The wait before attempt n+1 (n counted from 1), or undefined when retrying cannot help. */
export function retryDelayMs(message: string, attempt: number, retryAfterMs?: number) {
  if (FINAL.test(message)) return undefined
  const backoff = Math.min(30_000, 2_000 * 2 ** (attempt - 1))
  return Math.max(backoff, retryAfterMs ?? 0)
}

/**
 * The largest Retry-After (in ms) among a response's headers as the toolkit's Twirp client logs
 * them (`::debug::Headers: {…}`, the only place it surfaces them), or undefined.
 */
export function retryAfterMs(logLine: string): number | undefined {
  const seconds = [
    ...capLine(logLine, CAPS.parsedLineChars).matchAll(/"retry-after":\s*"(\d+)"/gi)
  ].map(m => Number(m[1]))
  return seconds.length ? Math.max(...seconds) * 1000 : undefined
}

/** Runs work while reading the Retry-After the toolkit logs; the largest seen, in ms. */
export async function watchingRetryAfter<T>(
  work: () => Promise<T>
): Promise<{ value?: T; error?: unknown; retryAfterMs?: number }> {
  const original = process.stdout.write
  let seen: number | undefined
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string' && chunk.includes('etry-after')) {
      const ms = retryAfterMs(chunk)
      if (ms !== undefined) seen = Math.max(seen ?? 0, ms)
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
  } as typeof process.stdout.write
  try {
    return { value: await work(), retryAfterMs: seen }
  } catch (error) {
    return { error, retryAfterMs: seen }
  } finally {
    process.stdout.write = original
  }
}

export interface RetryOptions {
  budgetMs: number
  /** Says that an attempt failed and when the next starts. */
  onRetry(message: string, waitMs: number): void
  sleep?: (ms: number) => Promise<void>
  now?: () => number
}

/**
 * attempt(n) until it succeeds, fails for good, or the next try would start past the budget.
 * The final error says how long and how often it tried.
 */
export async function retryWithinBudget<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions
): Promise<T> {
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? ((ms: number) => new Promise(r => setTimeout(r, ms)))
  const started = now()
  for (let n = 1; ; n++) {
    const outcome = await watchingRetryAfter(() => attempt(n))
    if (!('error' in outcome) || outcome.error === undefined) return outcome.value as T
    const message = errorMessage(outcome.error)
    const wait = retryDelayMs(message, n, outcome.retryAfterMs)
    const elapsed = now() - started
    if (wait === undefined) throw outcome.error
    if (elapsed + wait >= options.budgetMs) {
      const tried = `tried ${n} time${n === 1 ? '' : 's'} over ${Math.round(elapsed / 1000)} s`
      throw new Error(`${message} (${tried}, up to the ${options.budgetMs / 1000} s bound)`)
    }
    options.onRetry(message, wait)
    await sleep(wait)
  }
}
