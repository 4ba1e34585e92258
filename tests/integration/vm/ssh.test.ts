// waitForSsh against a real ssh2 server behind a stand-in for QEMU's user-mode forward: before
// the guest's network is up, the forward accepts each connection and then nothing comes back;
// once it is up, connections reach sshd.
import { createServer, type Server, type Socket } from 'node:net'
import ssh2 from 'ssh2'
import { afterEach, describe, expect, it } from 'vitest'
import { nextAttemptBudget, waitForSsh, type WaitForSshOptions } from '../../../src/vm/ssh.js'

interface Guest {
  port: number
  /** Connections the forward held silent, the client's still open among them. */
  silent: Socket[]
  /** From now on, new connections reach sshd. */
  networkUp(): void
  /** The console's "sshd listening" line, to every waitForSsh subscribed through `nudge`. */
  hint(): void
  nudge(wake: () => void): () => void
  close(): Promise<void>
}

const guests: Guest[] = []
afterEach(async () => {
  await Promise.all(guests.splice(0).map(guest => guest.close()))
})

async function startGuest(clientPublicKey: string): Promise<Guest> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private
  const allowed = ssh2.utils.parseKey(clientPublicKey)
  if (allowed instanceof Error) throw allowed
  const sshd = new ssh2.Server({ hostKeys: [hostKey] }, connection => {
    connection.on('authentication', context => {
      const ok =
        context.method === 'publickey' &&
        context.key.data.equals(allowed.getPublicSSH()) &&
        (!context.signature || allowed.verify(context.blob!, context.signature, context.hashAlgo))
      return ok ? context.accept() : context.reject(['publickey'])
    })
    connection.on('ready', () =>
      connection.on('session', accept =>
        accept().on('exec', (acceptExec, _reject, info) => {
          // undefined when the client has gone meanwhile (a losing attempt being ended).
          const channel = acceptExec() as ReturnType<typeof acceptExec> | undefined
          channel?.exit(info.command === 'true' ? 0 : 127)
          channel?.end()
        })
      )
    )
    connection.on('error', () => {})
  })
  let up = false
  const hints = new Set<() => void>()
  const silent: Socket[] = []
  const forward: Server = createServer(socket => {
    socket.on('error', () => {})
    if (up) sshd.injectSocket(socket)
    else silent.push(socket)
  })
  await new Promise<void>(resolve => forward.listen(0, '127.0.0.1', resolve))
  const address = forward.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  const guest: Guest = {
    port: address.port,
    silent,
    networkUp() {
      up = true
    },
    hint() {
      for (const wake of hints) wake()
    },
    nudge(wake) {
      hints.add(wake)
      return () => hints.delete(wake)
    },
    async close() {
      for (const socket of silent) socket.destroy()
      await new Promise(resolve => forward.close(resolve))
      sshd.close()
    }
  }
  guests.push(guest)
  return guest
}

function clientKey(): { privateKey: string; publicKey: string } {
  const pair = ssh2.utils.generateKeyPairSync('ed25519')
  return { privateKey: pair.private, publicKey: pair.public }
}

const waitUntil = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise(resolve => setTimeout(resolve, 10))
}

/** waitForSsh as the VM stage calls it, with attempts that would stall for a whole minute. */
function waitOn(
  guest: Guest,
  key: { privateKey: string },
  options: Partial<WaitForSshOptions> = {}
): ReturnType<typeof waitForSsh> {
  return waitForSsh({
    port: guest.port,
    privateKey: key.privateKey,
    deadline: Date.now() + 120_000,
    attemptTimeoutMs: 60_000,
    abort: new Promise<string>(() => {}),
    nudge: wake => guest.nudge(wake),
    ...options
  })
}

/** In: the session runs a command, and `stalled` attempts were still waiting when it got in. */
async function expectIn(
  ready: Awaited<ReturnType<typeof waitForSsh>>,
  guest: Guest,
  stalled: number
): Promise<void> {
  expect(ready.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
  expect((await ready.client.exec('true', { timeoutMs: 5_000 })).exitCode).toBe(0)
  expect(guest.silent.filter(socket => !socket.destroyed).length).toBeGreaterThanOrEqual(stalled)
  ready.client.close()
}

describe('waitForSsh', () => {
  it('starts a fresh attempt on the console hint instead of waiting out stalled ones', async () => {
    const key = clientKey()
    const guest = await startGuest(key.publicKey)
    const waiting = waitOn(guest, key)
    await waitUntil(() => guest.silent.length >= 2)
    guest.networkUp()
    guest.hint()
    await expectIn(await waiting, guest, 2)
  }, 30_000)

  it('keeps trying beside stalled attempts when the hint came before the network', async () => {
    const key = clientKey()
    const guest = await startGuest(key.publicKey)
    const waiting = waitOn(guest, key)
    // sshd says it listens, but the guest's network is not up yet: the hinted attempt stalls too.
    await waitUntil(() => guest.silent.length >= 2)
    guest.hint()
    await waitUntil(() => guest.silent.length >= 3)
    guest.networkUp()
    await expectIn(await waiting, guest, 3)
  }, 30_000)

  it('gets in without a hint while stalled attempts are still open', async () => {
    const key = clientKey()
    const guest = await startGuest(key.publicKey)
    const waiting = waitOn(guest, key, { nudge: undefined })
    await waitUntil(() => guest.silent.length >= 3)
    guest.networkUp()
    await expectIn(await waiting, guest, 3)
  }, 30_000)

  it('rejects with the reason when waiting becomes pointless', async () => {
    const key = clientKey()
    const guest = await startGuest(key.publicKey)
    await expect(
      waitOn(guest, key, { abort: Promise.resolve('QEMU exited with code 1') })
    ).rejects.toThrow('QEMU exited with code 1')
  })
})

describe('nextAttemptBudget', () => {
  it('doubles after a handshake the server began but did not finish in time, up to 16 s', () => {
    expect(nextAttemptBudget(4_000, { error: 'no answer in 4000 ms', answered: true })).toBe(8_000)
    expect(
      nextAttemptBudget(4_000, { error: 'Timed out while waiting for handshake', answered: true })
    ).toBe(8_000)
    expect(nextAttemptBudget(16_000, { error: 'no answer in 16000 ms', answered: true })).toBe(
      16_000
    )
  })

  it('keeps the budget when the server never answered or the attempt failed otherwise', () => {
    expect(nextAttemptBudget(4_000, { error: 'no answer in 4000 ms', answered: false })).toBe(4_000)
    expect(nextAttemptBudget(4_000, { error: 'connection closed', answered: true })).toBe(4_000)
    expect(nextAttemptBudget(4_000, { error: 'connect ECONNREFUSED', answered: false })).toBe(4_000)
  })
})
