// One SSH connection that every probe reuses, and the fingerprint of a host key in OpenSSH's form.
import { createHash } from 'node:crypto'
import ssh2 from 'ssh2'
import { CAPS, HeadText } from '../shared/bounds.js'

export interface ExecResult {
  /** null when the command died by a signal or timed out. */
  exitCode: number | null
  signal?: string
  /** The first CAPS.probeStreamBytes of each stream, with a cut note when there was more. */
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
      // Streamed into bounded heads: a guest printing without end costs the cap, not its output.
      const stdout = new HeadText(CAPS.probeStreamBytes)
      const stderr = new HeadText(CAPS.probeStreamBytes)
      let settled = false
      const finish = (result: Omit<ExecResult, 'stdout' | 'stderr'>): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve({ ...result, stdout: stdout.text(), stderr: stderr.text() })
      }
      const timer = setTimeout(() => {
        this.stale = true
        client.end()
        finish({ exitCode: null, timedOut: true })
      }, timeoutMs)
      const onClose = (): void => {
        stderr.push('the SSH connection closed\n')
        finish({ exitCode: null, timedOut: false })
      }
      client.once('close', onClose)
      client.exec(command, (error, channel) => {
        if (error) {
          stderr.push(`${error.message}\n`)
          client.off('close', onClose)
          finish({ exitCode: null, timedOut: false })
          return
        }
        let exitCode: number | null = null
        let signal: string | undefined
        channel.on('data', (chunk: Buffer) => stdout.push(chunk))
        channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
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
