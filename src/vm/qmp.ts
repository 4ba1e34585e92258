// A minimal QMP client over QEMU's unix socket: greeting, capabilities, one command at a time.
import { connect, type Socket } from 'node:net'
import { withTimeout } from '../shared/deadline.js'

interface Pending {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

/** QEMU answered, and refused the command (as opposed to a timeout or a closed socket). */
export class QmpError extends Error {
  constructor(
    readonly errorClass: string | undefined,
    readonly desc: string | undefined
  ) {
    super(`QMP error ${errorClass}: ${desc}`)
    this.name = 'QmpError'
  }
}

export class QmpClient {
  private buffer = ''
  private readonly queue: Pending[] = []
  private greeted?: Pending
  private closed = false

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.receive(chunk))
    const fail = (error: Error): void => {
      this.closed = true
      for (const pending of [this.greeted, ...this.queue.splice(0)]) pending?.reject(error)
      this.greeted = undefined
    }
    socket.on('error', fail)
    socket.on('close', () => fail(new Error('QMP connection closed')))
  }

  /** Connects (retrying while QEMU creates the socket) and negotiates capabilities. */
  static async connect(path: string, timeoutMs = 5_000): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs
    let lastError: unknown
    while (Date.now() < deadline) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path)
          s.once('connect', () => resolve(s))
          s.once('error', reject)
        })
        const client = new QmpClient(socket)
        await client.handshake(Math.max(500, deadline - Date.now()))
        return client
      } catch (error) {
        lastError = error
        await new Promise(r => setTimeout(r, 50))
      }
    }
    throw new Error(
      `QMP socket ${path} did not answer within ${timeoutMs} ms: ${String(lastError)}`
    )
  }

  private async handshake(timeoutMs: number): Promise<void> {
    await withTimeout(
      new Promise((resolve, reject) => (this.greeted = { resolve, reject })),
      timeoutMs,
      `QMP greeting timed out after ${timeoutMs} ms`
    )
    await this.execute('qmp_capabilities', undefined, timeoutMs)
  }

  private receive(chunk: string): void {
    this.buffer += chunk
    let newline: number
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim()
      this.buffer = this.buffer.slice(newline + 1)
      if (!line) continue
      let message: Record<string, unknown>
      try {
        message = JSON.parse(line) as Record<string, unknown>
      } catch {
        continue
      }
      if ('QMP' in message) {
        this.greeted?.resolve(message)
        this.greeted = undefined
      } else if ('return' in message) {
        this.queue.shift()?.resolve(message.return)
      } else if ('error' in message) {
        const error = message.error as { class?: string; desc?: string }
        this.queue.shift()?.reject(new QmpError(error.class, error.desc))
      }
      // Events ('event' in message) are not needed: status is polled.
    }
  }

  /** Runs one command; rejects on a QMP error, a closed socket or the timeout. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    timeoutMs = 5_000
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed'))
    const reply = new Promise<T>((resolve, reject) =>
      this.queue.push({ resolve: value => resolve(value as T), reject })
    )
    this.socket.write(
      JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n'
    )
    return withTimeout(reply, timeoutMs, `QMP ${command} timed out after ${timeoutMs} ms`)
  }

  close(): void {
    this.closed = true
    this.socket.destroy()
  }
}
