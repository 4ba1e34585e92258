// One SSH readiness attempt: a fresh, short ssh2 client that must log in and run `true`. QEMU's
// forward accepts TCP before the guest listens, so only a command that ran proves SSH is up.
import { connect, type Socket } from 'node:net'
import ssh2 from 'ssh2'
import { sshFingerprint } from './ssh-session.js'

/** Where an attempt connects, and as whom. */
export interface SshTarget {
  port: number
  privateKey: string
  host?: string
  username?: string
}

export interface Attempt {
  client?: ssh2.Client
  fingerprint?: string
  error?: string
  /** The server sent something (its SSH version line) before the attempt ended. */
  answered?: boolean
}

/** What an attempt in flight has shown so far. */
export interface Progress {
  startedAt: number
  answered: boolean
}

/** How long a logged-in attempt may take to run its command. */
const LOGGED_IN_MS = 20_000

/** Logs in and runs `true` within timeoutMs (the command then gets LOGGED_IN_MS of its own). */
export function attempt(
  target: SshTarget,
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
    const socket = openSocket(target, progress)
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
      runTrue(client, error => settle(error === undefined ? { client, fingerprint } : { error }))
    })
    try {
      logIn(client, socket, target, timeoutMs, seen => (fingerprint = seen))
    } catch (error) {
      settle({ error: error instanceof Error ? error.message : String(error) })
    }
  })
}

/** The TCP connection an attempt hands ssh2; marks progress.answered on the server's first byte. */
function openSocket(target: SshTarget, progress: Progress): Socket {
  const socket = connect({ host: target.host ?? '127.0.0.1', port: target.port })
  // Without TCP_NODELAY each of the handshake's small writes waits for the guest's delayed ACK
  // (~40 ms): measured 400 ms to a command under TCG, 110–140 ms with it (docs/benchmarks.md).
  socket.setNoDelay(true)
  // Attached in the same tick as ssh2's own reader, so no byte is missed by either.
  socket.once('data', () => (progress.answered = true))
  // ssh2 reports socket errors as the client's; this one only keeps an error on a socket ssh2
  // never took from being thrown.
  socket.on('error', () => {})
  return socket
}

/** Starts ssh2's handshake and login over socket; the host key's fingerprint goes to onHostKey. */
function logIn(
  client: ssh2.Client,
  socket: Socket,
  target: SshTarget,
  timeoutMs: number,
  onHostKey: (fingerprint: string) => void
): void {
  client.connect({
    sock: socket,
    username: target.username ?? 'root',
    privateKey: target.privateKey,
    readyTimeout: timeoutMs,
    keepaliveInterval: 10_000,
    hostVerifier: (key: Buffer) => {
      onHostKey(sshFingerprint(key))
      return true
    }
  })
}

/** Runs `true` on a logged-in client: done(undefined) when it exited 0, else done(why not). */
function runTrue(client: ssh2.Client, done: (error?: string) => void): void {
  // Ready means a command ran, not merely that the handshake finished.
  client.exec('true', (error, channel) => {
    if (error) return done(error.message)
    channel.on('exit', (code: number | null) => {
      if (code === 0) done()
      else done(`'true' exited with ${code}`)
    })
    channel.on('close', () => done("'true' ended without an exit code"))
    channel.resume()
  })
}
