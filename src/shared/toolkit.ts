// The results-service clients are large (several MiB bundled): they load when first used, so the
// action's first log line does not wait for them.
import { TIMED_OUT, withDeadline } from './deadline.js'

export const actionsCache = (): Promise<typeof import('@actions/cache')> => import('@actions/cache')
export const actionsArtifact = (): Promise<typeof import('@actions/artifact')> =>
  import('@actions/artifact')

/**
 * Runs a call into @actions/cache, keeping the annotations it emits for its failures (`::error::`
 * for server errors: a cache outage is never an error of this action) as plain text, and collecting
 * them: the library swallows its failures and only logs them. The caller warns once.
 */
export async function quietly<T>(work: () => Promise<T>, failures: string[]): Promise<T> {
  const original = process.stdout.write
  const pattern =
    /^(?:::(?:error|warning|debug)::)?((?:Failed to (?:restore|save|reserve cache)|Cache reservation failed): .*)$/
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') {
      for (const line of chunk.split('\n')) {
        const match = pattern.exec(line.trim())
        if (match) failures.push(match[1].replace(/%0A/g, ' ').replace(/%25/g, '%'))
      }
      // The caller says it once, as a warning, in its own words; the library's line stays as text.
      chunk = chunk.replace(/^::(?:error|warning)::(Failed to (?:restore|save): )/gm, '$1')
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
  } as typeof process.stdout.write
  try {
    return await work()
  } finally {
    process.stdout.write = original
  }
}

/**
 * Whether the failures quietly() kept say the key is already taken (cache keys are immutable).
 * Any failure to create an entry is "Unable to reserve cache"; only a refusal (ok: false) means
 * the key exists, and the library says which only in a debug line.
 */
export function cacheKeyTaken(failures: string[]): boolean {
  const refused = failures.find(failure => failure.startsWith('Failed to reserve cache:'))
  return refused !== undefined && /Response was not ok|already exists/i.test(refused)
}

/**
 * A lookup in @actions/cache, bounded by ms. `down` says why the service failed it: no answer in
 * time, or nothing found while the library logged failures (it swallows them).
 */
export async function cacheLookup<T>(
  work: () => Promise<T>,
  ms: number
): Promise<{ found?: T; down?: string }> {
  const failures: string[] = []
  const found = await withDeadline(quietly(work, failures), ms)
  if (found === TIMED_OUT) return { down: `the cache service did not answer in ${ms / 1000} s` }
  if (!found && failures.length) return { down: failures.join('; ') }
  return { found }
}
