// SSH readiness and one reused session. QEMU's forward accepts TCP before the guest listens and
// then stalls or drops the connection, so a connect proves nothing: each attempt is a fresh, short
// ssh2 client that must run `true`, retried with backoff under one deadline, raced against QEMU.
import { connect } from 'node:net'
import ssh2 from 'ssh2'
import { SshSession, sshFingerprint } from './ssh-session.js'

export { SshSession, sshFingerprint, type ExecResult } from './ssh-session.js'

export interface WaitForSshOptions {
  port: number
  privateKey: string
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
  host?: string
  username?: string
}

interface Attempt {
  client?: ssh2.Client
  fingerprint?: string
  error?: string
  /** The server sent something (its SSH version line) before the attempt ended. */
  answered?: boolean
}

/** How long a logged-in attempt may take to run its command. */
const LOGGED_IN_MS = 20_000

/** What an attempt in flight has shown so far. */
interface Progress {
  startedAt: number
  answered: boolean
}

function attempt(
  options: WaitForSshOptions,
  timeoutMs: number,
  progress: Progress = { startedAt: Date.now(), answered: false }
): Promise<Attempt> {
  return new Promise(resolve => {
    const client = new ssh2.Client()
    let fingerprint: string | undefined
    let settled = false
    const settle = (result: Attempt): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (!result.client) {
        client.end()
        // Also when ssh2 never took the socket (connect threw): a stalled one would stay open.
        socket.destroy()
      }
      resolve({ ...result, answered: progress.answered })
    }
    let timer = setTimeout(() => settle({ error: `no answer in ${timeoutMs} ms` }), timeoutMs)
    const socket = connect({ host: options.host ?? '127.0.0.1', port: options.port })
    // Without TCP_NODELAY each of the handshake's small writes waits for the guest's delayed ACK
    // (~40 ms): measured 400 ms to a command under TCG, 110–140 ms with it (docs/benchmarks.md).
    socket.setNoDelay(true)
    // Attached in the same tick as ssh2's own reader, so no byte is missed by either.
    socket.once('data', () => (progress.answered = true))
    // ssh2 reports socket errors as the client's; this one only keeps an error on a socket ssh2
    // never took from being thrown.
    socket.on('error', () => {})
    client.on('error', error => settle({ error: error.message }))
    client.on('close', () => settle({ error: 'connection closed' }))
    client.on('ready', () => {
      // Logged in, so sshd is up; the session (PAM, logind starting user@0 on a systemd guest)
      // can take seconds more under a loaded TCG. Cutting it off at the handshake's budget
      // starves every attempt (measured: 50 s lost), so the command gets a budget of its own.
      clearTimeout(timer)
      timer = setTimeout(
        () => settle({ error: `'true' did not finish within ${LOGGED_IN_MS} ms of the login` }),
        LOGGED_IN_MS
      )
      // Ready means a command ran, not merely that the handshake finished.
      client.exec('true', (error, channel) => {
        if (error) return settle({ error: error.message })
        channel.on('exit', (code: number | null) => {
          if (code === 0) settle({ client, fingerprint })
          else settle({ error: `'true' exited with ${code}` })
        })
        channel.on('close', () => settle({ error: "'true' ended without an exit code" }))
        channel.resume()
      })
    })
    try {
      client.connect({
        sock: socket,
        username: options.username ?? 'root',
        privateKey: options.privateKey,
        readyTimeout: timeoutMs,
        keepaliveInterval: 10_000,
        hostVerifier: (key: Buffer) => {
          fingerprint = sshFingerprint(key)
          return true
        }
      })
    } catch (error) {
      settle({ error: error instanceof Error ? error.message : String(error) })
    }
  })
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
  let winner: Attempt | undefined
  let attempts = 0
  let attemptMs = options.attemptTimeoutMs ?? 4_000
  let lastError = 'no attempt made'
  let refused: string | undefined
  const inFlight = new Map<Promise<void>, Progress>()
  const launch = (timeoutMs: number): void => {
    attempts++
    const progress: Progress = { startedAt: Date.now(), answered: false }
    const tracked: Promise<void> = attempt(options, timeoutMs, progress)
      .then(result => {
        attemptMs = nextAttemptBudget(attemptMs, result)
        if (!result.client) {
          lastError = result.error ?? 'unknown error'
          if (AUTH_REFUSED.test(lastError)) refused = lastError
        } else if (winner || aborted !== undefined || refused) result.client.end()
        else winner = result
      })
      .finally(() => inFlight.delete(tracked))
    inFlight.set(tracked, progress)
  }
  /** When each unanswered attempt counts (or counted) as stalled. */
  const stallTimes = (): number[] =>
    [...inFlight.values()].filter(p => !p.answered).map(p => p.startedAt + STALLED_AFTER_MS)
  const underWay = (now: number): number =>
    [...inFlight.values()].filter(p => p.answered || now < p.startedAt + STALLED_AFTER_MS).length
  let backoff = 250
  let nextLaunch = Date.now()
  let nudged = false
  let wakeUp: () => void = () => {}
  const unsubscribe = options.nudge?.(() => {
    nudged = true
    wakeUp()
  })
  try {
    for (;;) {
      if (winner?.client) {
        const reconnect = async (): Promise<ssh2.Client> => {
          for (let tries = 1; ; tries++) {
            const again = await attempt(options, options.attemptTimeoutMs ?? 4_000)
            if (again.client && again.fingerprint !== winner?.fingerprint) {
              again.client.end()
              throw new Error(
                `the host key changed (${again.fingerprint}, was ${winner?.fingerprint})`
              )
            }
            if (again.client) return again.client
            if (tries >= 3) throw new Error(again.error)
            await new Promise(resolve => setTimeout(resolve, 500))
          }
        }
        const session = new SshSession(winner.client, reconnect)
        return { client: session, fingerprint: winner.fingerprint ?? '' }
      }
      if (aborted !== undefined) throw new Error(aborted)
      if (refused) throw new Error(`${KEY_REFUSED} (${refused}, after ${attempts} attempts)`)
      const now = Date.now()
      const remaining = options.deadline - now
      if (remaining <= 0 && inFlight.size === 0) break
      // sshd just said it listens: try now, even beside attempts under way on an earlier state
      // (measured: a hint that waited for a stalled attempt's slot cost 7 s).
      const hinted = nudged
      if (nudged) {
        nudged = false
        nextLaunch = now
        backoff = 250
      }
      const slotFree = hinted || underWay(now) < MAX_UNDER_WAY
      if (remaining > 0 && slotFree && inFlight.size < MAX_OPEN && now >= nextLaunch) {
        launch(Math.max(500, Math.min(attemptMs, remaining)))
        nextLaunch = now + backoff
        backoff = Math.min(2_000, backoff * 2)
      }
      // Wake for the next launch, or when an attempt under way turns stalled and frees its slot.
      const nextStall = Math.min(...stallTimes().filter(at => at > Date.now()))
      const wait = Math.max(20, Math.min(nextLaunch, nextStall, options.deadline) - Date.now())
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        ...inFlight.keys(),
        abort,
        new Promise<void>(resolve => {
          timer = setTimeout(resolve, wait)
          wakeUp = resolve
        })
      ])
      clearTimeout(timer)
    }
  } finally {
    unsubscribe?.()
  }
  throw new Error(
    `SSH on 127.0.0.1:${options.port} did not run a command before the deadline ` +
      `(${attempts} attempts; last: ${lastError})`
  )
}
