// SSH readiness and one reused session. QEMU's forward accepts TCP before the guest listens and
// then stalls or drops the connection, so a connect proves nothing: each attempt is a fresh, short
// ssh2 client that must run `true`, retried with backoff under one deadline, raced against QEMU.
import { createHash } from 'node:crypto'
import ssh2 from 'ssh2'

export interface ExecResult {
  /** null when the command died by a signal or timed out. */
  exitCode: number | null
  signal?: string
  stdout: string
  stderr: string
  timedOut: boolean
}

/** OpenSSH's form of a host key fingerprint: SHA256:<base64 without padding>. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/**
 * One SSH connection that every probe reuses (a handshake costs ~1.2 s under TCG). A command
 * that times out takes its connection with it (closing the connection is the one way to stop it
 * that every sshd honours); the next command opens a fresh one.
 */
export class SshSession {
  private stale = false
  private closed = false

  constructor(
    private client: ssh2.Client,
    private readonly reconnect?: () => Promise<ssh2.Client>
  ) {}

  async exec(command: string, options: { timeoutMs: number }): Promise<ExecResult> {
    if (this.closed) return failed('the SSH session is closed')
    if (this.stale) {
      if (!this.reconnect) return failed('the SSH connection was dropped after a timeout')
      try {
        this.client = await this.reconnect()
        this.stale = false
      } catch (error) {
        return failed(`could not reconnect over SSH: ${String(error)}`)
      }
      if (this.closed) {
        this.client.end()
        return failed('the SSH session is closed')
      }
    }
    return this.run(this.client, command, options.timeoutMs)
  }

  private run(client: ssh2.Client, command: string, timeoutMs: number): Promise<ExecResult> {
    return new Promise(resolve => {
      let stdout = ''
      let stderr = ''
      let settled = false
      const finish = (result: Omit<ExecResult, 'stdout' | 'stderr'>): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve({ ...result, stdout, stderr })
      }
      const timer = setTimeout(() => {
        this.stale = true
        client.end()
        finish({ exitCode: null, timedOut: true })
      }, timeoutMs)
      const onClose = (): void => {
        stderr += 'the SSH connection closed\n'
        finish({ exitCode: null, timedOut: false })
      }
      client.once('close', onClose)
      client.exec(command, (error, channel) => {
        if (error) {
          stderr += `${error.message}\n`
          client.off('close', onClose)
          finish({ exitCode: null, timedOut: false })
          return
        }
        let exitCode: number | null = null
        let signal: string | undefined
        channel.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
        channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
        channel.on('exit', (code: number | null, signalName?: string) => {
          exitCode = typeof code === 'number' ? code : null
          if (signalName) signal = signalName
        })
        channel.on('close', () => {
          client.off('close', onClose)
          finish({ exitCode, signal, timedOut: false })
        })
      })
    })
  }

  close(): void {
    this.closed = true
    this.client.end()
  }
}

function failed(message: string): ExecResult {
  return { exitCode: null, stdout: '', stderr: `${message}\n`, timedOut: false }
}

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
}

/** How long a logged-in attempt may take to run its command. */
const LOGGED_IN_MS = 20_000

function attempt(options: WaitForSshOptions, timeoutMs: number): Promise<Attempt> {
  return new Promise(resolve => {
    const client = new ssh2.Client()
    let fingerprint: string | undefined
    let settled = false
    const settle = (result: Attempt): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (!result.client) client.end()
      resolve(result)
    }
    let timer = setTimeout(() => settle({ error: `no answer in ${timeoutMs} ms` }), timeoutMs)
    // Without TCP_NODELAY each of the handshake's small writes waits for the guest's delayed ACK
    // (~40 ms): measured 400 ms to a command under TCG, 110–140 ms with it (docs/benchmarks.md).
    client.on('connect', () => client.setNoDelay(true))
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
        host: options.host ?? '127.0.0.1',
        port: options.port,
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

/** The longest a handshake attempt may grow to after attempts that ran out of time. */
const MAX_ATTEMPT_MS = 16_000

/** At most this many attempts in flight: a stalled one does not hold up the next. */
const MAX_IN_FLIGHT = 2

/**
 * Retries until SSH runs a command, the deadline passes, or abort settles (which rejects).
 * Attempts start with backoff (250 ms doubling to 2 s); a new one may start while an earlier
 * one is stalled in the banner exchange.
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
  const inFlight = new Set<Promise<void>>()
  const launch = (timeoutMs: number): void => {
    attempts++
    const tracked: Promise<void> = attempt(options, timeoutMs)
      .then(result => {
        // A handshake that ran out of time is a slow guest more often than a dead one: allow the
        // next attempts longer (a loaded TCG host took over 4 s to finish one).
        if (/^no answer in|Timed out while waiting for handshake/.test(result.error ?? '')) {
          attemptMs = Math.min(attemptMs * 2, MAX_ATTEMPT_MS)
        }
        if (!result.client) lastError = result.error ?? 'unknown error'
        else if (winner || aborted !== undefined) result.client.end()
        else winner = result
      })
      .finally(() => inFlight.delete(tracked))
    inFlight.add(tracked)
  }
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
      const now = Date.now()
      const remaining = options.deadline - now
      if (remaining <= 0 && inFlight.size === 0) break
      if (nudged) {
        // sshd just said it listens: try now, even beside attempts stalled on an earlier state.
        nudged = false
        if (remaining > 0 && inFlight.size <= MAX_IN_FLIGHT) nextLaunch = now
        backoff = 250
      }
      const limit = nextLaunch === now ? MAX_IN_FLIGHT + 1 : MAX_IN_FLIGHT
      if (remaining > 0 && inFlight.size < limit && now >= nextLaunch) {
        launch(Math.max(500, Math.min(attemptMs, remaining)))
        nextLaunch = now + backoff
        backoff = Math.min(2_000, backoff * 2)
      }
      const wait = Math.max(20, Math.min(nextLaunch, options.deadline) - Date.now())
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        ...inFlight,
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
