// SSH readiness and one reused session. QEMU's forward accepts TCP before the guest listens and
// then stalls or drops the connection, so a connect proves nothing: each attempt is a fresh, short
// ssh2 client that must run `true` (ssh-attempt.ts), retried with backoff under one deadline,
// raced against QEMU.
import type ssh2 from 'ssh2'
import { attempt, type Attempt, type Progress, type SshTarget } from './ssh-attempt.js'
import { SshSession } from './ssh-session.js'

export { SshSession, sshFingerprint, type ExecResult } from './ssh-session.js'

export interface WaitForSshOptions extends SshTarget {
  /** Epoch milliseconds after which no new attempt starts. */
  deadline: number
  attemptTimeoutMs?: number
  /** Settles when waiting is pointless (QEMU exited, a panic line): its value is the reason. */
  abort: Promise<string>
  /**
   * Subscribes to hints that sshd just came up (a console line): the next attempt starts at
   * once instead of after the backoff. Returns the unsubscribe function.
   */
  nudge?: (wake: () => void) => () => void
}

/**
 * sshd answered and refused every key offered. Final: the guest's authorized keys are in place
 * before sshd starts (baked in, or written from the credential early in boot), so waiting until
 * the boot timeout would only hide the cause.
 */
const AUTH_REFUSED = /All configured authentication methods failed/
/** Starts the error waitForSsh throws when the guest refused the key. */
export const KEY_REFUSED = 'the guest refused the SSH key'

/** The longest a handshake attempt may grow to after attempts that ran out of time. */
const MAX_ATTEMPT_MS = 16_000

/**
 * The time the next attempts get, after one ended. A handshake that the server began but that ran
 * out of time is a slow guest more often than a dead one: the next attempts get twice as long (a
 * loaded TCG host took over 4 s to finish one). A server that never answered is not there yet.
 */
export function nextAttemptBudget(
  currentMs: number,
  ended: { error?: string; answered?: boolean }
): number {
  const ranOutOfTime = /^no answer in|Timed out while waiting for handshake/.test(ended.error ?? '')
  return ended.answered && ranOutOfTime ? Math.min(currentMs * 2, MAX_ATTEMPT_MS) : currentMs
}

/** At most this many attempts under way: started lately, or answered by the server. */
const MAX_UNDER_WAY = 2

/** An attempt the server has not answered in this long is stalled: it no longer holds a slot. */
const STALLED_AFTER_MS = 1_000

/** At most this many attempts open at all, stalled ones included. */
const MAX_OPEN = 6

/** The attempts in flight, and what the ended ones left: the winner, a refused key, the last error. */
class Attempts {
  readonly inFlight = new Map<Promise<void>, Progress>()
  winner?: Attempt
  refused?: string
  lastError = 'no attempt made'
  count = 0
  /** The time the next attempt gets (nextAttemptBudget). */
  budgetMs: number

  constructor(
    private readonly options: WaitForSshOptions,
    /** Waiting stopped: a client that logs in now is closed, not kept. */
    private readonly aborted: () => boolean
  ) {
    this.budgetMs = options.attemptTimeoutMs ?? 4_000
  }

  launch(timeoutMs: number): void {
    this.count++
    const progress: Progress = { startedAt: Date.now(), answered: false }
    const tracked: Promise<void> = attempt(this.options, timeoutMs, progress)
      .then(result => this.ended(result))
      .finally(() => this.inFlight.delete(tracked))
    this.inFlight.set(tracked, progress)
  }

  private ended(result: Attempt): void {
    this.budgetMs = nextAttemptBudget(this.budgetMs, result)
    if (!result.client) {
      this.lastError = result.error ?? 'unknown error'
      if (AUTH_REFUSED.test(this.lastError)) this.refused = this.lastError
    } else if (this.winner || this.aborted() || this.refused) result.client.end()
    else this.winner = result
  }

  /** When each unanswered attempt counts (or counted) as stalled. */
  stallTimes(): number[] {
    return [...this.inFlight.values()]
      .filter(p => !p.answered)
      .map(p => p.startedAt + STALLED_AFTER_MS)
  }

  /** Attempts that hold a slot: answered by the server, or started less than a second ago. */
  underWay(now: number): number {
    return [...this.inFlight.values()].filter(
      p => p.answered || now < p.startedAt + STALLED_AFTER_MS
    ).length
  }
}

/** When the next attempt may start: backoff from 250 ms doubling to 2 s, reset by a nudge. */
class Pace {
  next = Date.now()
  private backoff = 250
  private nudged = false
  private wake: () => void = () => {}

  /** sshd just said it listens: wake the waiting loop. */
  nudge(): void {
    this.nudged = true
    this.wake()
  }

  /** Takes a pending nudge (the next attempt may start now); whether there was one. */
  takeNudge(now: number): boolean {
    if (!this.nudged) return false
    this.nudged = false
    this.next = now
    this.backoff = 250
    return true
  }

  launched(now: number): void {
    this.next = now + this.backoff
    this.backoff = Math.min(2_000, this.backoff * 2)
  }

  /** Waits ms, or until one of others settles, or a nudge comes. */
  async sleep(ms: number, others: Promise<unknown>[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      ...others,
      new Promise<void>(resolve => {
        timer = setTimeout(resolve, ms)
        this.wake = resolve
      })
    ])
    clearTimeout(timer)
  }
}

/**
 * Retries until SSH runs a command, the deadline passes, or abort settles (which rejects).
 * Attempts start with backoff (250 ms doubling to 2 s), two at a time. Before the guest's network
 * is up, QEMU's forward accepts the connection and then nothing ever comes back on it (measured:
 * not even once sshd listens), so an attempt the server has not answered within a second stops
 * counting against the two; it stays open until its own time runs out, in case it does connect.
 */
export async function waitForSsh(
  options: WaitForSshOptions
): Promise<{ client: SshSession; fingerprint: string }> {
  let aborted: string | undefined
  const abort = options.abort.then(
    reason => (aborted = reason),
    (error: unknown) => (aborted = error instanceof Error ? error.message : String(error))
  )
  const attempts = new Attempts(options, () => aborted !== undefined)
  const pace = new Pace()
  const unsubscribe = options.nudge?.(() => pace.nudge())
  try {
    for (;;) {
      const { winner } = attempts
      if (winner?.client) return sessionOf(options, winner.client, winner.fingerprint)
      if (aborted !== undefined) throw new Error(aborted)
      if (attempts.refused) {
        throw new Error(`${KEY_REFUSED} (${attempts.refused}, after ${attempts.count} attempts)`)
      }
      const now = Date.now()
      const remaining = options.deadline - now
      if (remaining <= 0 && attempts.inFlight.size === 0) break
      // sshd just said it listens: try now, even beside attempts under way on an earlier state
      // (measured: a hint that waited for a stalled attempt's slot cost 7 s).
      const hinted = pace.takeNudge(now)
      const slotFree = hinted || attempts.underWay(now) < MAX_UNDER_WAY
      if (remaining > 0 && slotFree && attempts.inFlight.size < MAX_OPEN && now >= pace.next) {
        attempts.launch(Math.max(500, Math.min(attempts.budgetMs, remaining)))
        pace.launched(now)
      }
      // Wake for the next launch, or when an attempt under way turns stalled and frees its slot.
      const nextStall = Math.min(...attempts.stallTimes().filter(at => at > Date.now()))
      const wait = Math.max(20, Math.min(pace.next, nextStall, options.deadline) - Date.now())
      await pace.sleep(wait, [...attempts.inFlight.keys(), abort])
    }
  } finally {
    unsubscribe?.()
  }
  throw new Error(
    `SSH on 127.0.0.1:${options.port} did not run a command before the deadline ` +
      `(${attempts.count} attempts; last: ${attempts.lastError})`
  )
}

/**
 * The session over the winning attempt's client. Once it has dropped a connection after a
 * timeout it reconnects (up to three tries), and refuses a guest whose host key changed since.
 */
function sessionOf(
  options: WaitForSshOptions,
  client: ssh2.Client,
  fingerprint: string | undefined
): { client: SshSession; fingerprint: string } {
  const reconnect = async (): Promise<ssh2.Client> => {
    for (let tries = 1; ; tries++) {
      const again = await attempt(options, options.attemptTimeoutMs ?? 4_000)
      if (again.client && again.fingerprint !== fingerprint) {
        again.client.end()
        throw new Error(`the host key changed (${again.fingerprint}, was ${fingerprint})`)
      }
      if (again.client) return again.client
      if (tries >= 3) throw new Error(again.error)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }
  return { client: new SshSession(client, reconnect), fingerprint: fingerprint ?? '' }
}
