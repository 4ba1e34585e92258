// A Nix remote builder on this machine, for tests/e2e/remote-builder.test.ts: OpenSSH's sshd,
// started here on a free loopback port with a throw-away host key, lets in one throw-away
// client key whose forced command enters a runner image (tests/helpers/runner-image.ts) as user
// runner and runs `nix-daemon --stdio` there. So `builders = ssh-ng://…` reaches another store
// (the image's /nix/store, its own nix-daemon, build users and sandbox) as another user.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RUNNER_UID, type RunnerImage } from './runner-image.js'

export const SSHD = '/usr/sbin/sshd'

export interface SshBuilder {
  /** ssh-ng://root@<alias>: what Nix names the machine in its build events. */
  uri: string
  /**
   * NIX_SSHOPTS for the job: the port, and the alias the pinned host key is filed under. Nix 2.8's
   * ssh-ng URI has no port, and port 22 is the machine's own sshd's on a CI host.
   */
  sshOpts: string
  /** One `builders` entry: URI, system, key, jobs, speed, features, mandatory, base64 host key. */
  machine: string
  /** The private key the builders entry names (IdentityFile). */
  clientKey: string
  close(): Promise<void>
}

function keygen(path: string): string {
  const result = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path], {
    encoding: 'utf8'
  })
  if (result.status !== 0) throw new Error(`ssh-keygen ${path}: ${result.stderr}`)
  return readFileSync(`${path}.pub`, 'utf8').trim()
}

/** What sshd runs for the key, whatever the client asked: the image's daemon, as runner. */
function forcedCommand(image: RunnerImage): string {
  // A shell string (sshd runs it with the user's shell): the leg's root is a mkdtemp path.
  if (!/^[\w/.-]+$/.test(image.root)) throw new Error(`unexpected image root ${image.root}`)
  return [
    'exec chroot',
    `--userspec=${RUNNER_UID}:${RUNNER_UID}`,
    image.root,
    '/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/runner USER=runner',
    'nix-daemon --stdio'
  ].join(' ')
}

/** sshd -D -e until it says it listens; undefined when the address is taken. */
async function listen(config: string, log: string[]): Promise<ChildProcess | undefined> {
  const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  return new Promise((resolve, reject) => {
    let text = ''
    sshd.stderr.setEncoding('utf8')
    sshd.stderr.on('data', (chunk: string) => {
      text += chunk
      log.push(chunk)
      if (/Server listening on/.test(text)) resolve(sshd)
      else if (/Address already in use|Cannot bind any address/.test(text)) {
        sshd.kill('SIGTERM')
        resolve(undefined)
      }
    })
    sshd.once('exit', code => reject(new Error(`sshd exited (${code}): ${text}`)))
    sshd.once('error', reject)
  })
}

/**
 * Starts sshd for a builder into `image` (entered by the caller, closed after this; its nix.conf
 * must list `features` in extra-system-features). With `features`, the entry takes only the
 * derivations that require one of them, and such a derivation can go nowhere else.
 */
export async function startSshBuilder(
  image: RunnerImage,
  features: string[] = []
): Promise<SshBuilder & { log: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'biv-ssh-builder-'))
  const hostKey = keygen(join(dir, 'host_key'))
  const clientKey = join(dir, 'client_key')
  const clientPublic = keygen(clientKey)
  writeFileSync(
    join(dir, 'authorized_keys'),
    `command="${forcedCommand(image)}",restrict ${clientPublic}\n`
  )
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }) // sshd's privilege separation dir
  const log: string[] = []
  let sshd: ChildProcess | undefined
  let port = 0
  for (let attempt = 0; !sshd && attempt < 20; attempt++) {
    port = 20_000 + Math.floor(Math.random() * 40_000)
    const config = join(dir, 'sshd_config')
    writeFileSync(
      config,
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${join(dir, 'host_key')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        // The key's command= decides what runs; root may log in with nothing else.
        'PermitRootLogin forced-commands-only',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PidFile none',
        'LogLevel VERBOSE',
        ''
      ].join('\n')
    )
    sshd = await listen(config, log)
  }
  if (!sshd) throw new Error(`sshd found no free loopback port: ${log.join('')}`)
  // Nix files the pinned key under the URI's host; ssh looks it up under the alias, whatever the port.
  const address = `biv-builder-${port}`
  const uri = `ssh-ng://root@${address}`
  // Nix writes "<host> <decoded key>" into a known_hosts file of its own and checks against it.
  const hostKeyField = Buffer.from(hostKey.split(' ').slice(0, 2).join(' ')).toString('base64')
  const machine = [
    uri,
    'x86_64-linux',
    clientKey,
    '1',
    '1',
    // Supported and mandatory: the builder takes only derivations that require one of them.
    features.length ? features.join(',') : '-',
    features.length ? features.join(',') : '-',
    hostKeyField
  ].join(' ')
  const running = sshd
  return {
    uri,
    machine,
    sshOpts: `-p ${port} -o HostName=127.0.0.1 -o HostKeyAlias=${address}`,
    clientKey,
    log,
    close: async () => {
      if (running.exitCode === null && running.signalCode === null) {
        const exited = new Promise(resolve => running.once('exit', resolve))
        running.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
