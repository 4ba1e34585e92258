// Deadlines for work that cannot be cancelled (the @actions clients, QMP replies, a process's
// exit): the caller stops waiting; the work is left to finish or fail on its own.

export const TIMED_OUT = Symbol('timed out')

/** The work's value, or TIMED_OUT when it took longer than ms. */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<typeof TIMED_OUT>(resolve => {
    timer = setTimeout(resolve, ms, TIMED_OUT)
  })
  // A late failure of abandoned work is not an unhandled rejection.
  work.catch(() => undefined)
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** The work's value; rejects with message when it took longer than ms. */
export async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  const outcome = await withDeadline(work, ms)
  if (outcome === TIMED_OUT) throw new Error(message)
  return outcome
}
