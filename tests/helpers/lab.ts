// The offline lab for integration tests: real Nix builds of tests/fixtures/offline-iso, a fresh
// ed25519 key per fixture ISO, and a QEMU (TCG) boot of it. scripts/setup-lab.sh prepares .lab/.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ssh2 from 'ssh2'

export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const LAB_DIR: string = join(REPO_ROOT, '.lab')
export const LAB_NIX_CONF_DIR: string = join(LAB_DIR, 'nix-conf')
export const LAB_KERNEL_DIR: string = join(LAB_DIR, 'kernel')
/** The Debian systemd root filesystem for the systemdImage fixture (setup-lab.sh --systemd). */
export const LAB_ROOTFS_DIR: string = join(LAB_DIR, 'rootfs')
/** An arm64 guest's parts for the aarch64Image fixture (setup-lab.sh --aarch64). */
export const LAB_AARCH64_DIR: string = join(LAB_DIR, 'aarch64')
/**
 * Why the aarch64 tests cannot run here, or undefined when they can: `setup-lab.sh --aarch64`
 * gathers the parts on Debian hosts only (Ubuntu serves arm64 from a mirror its sources lack).
 */
export const AARCH64_LAB_MISSING: string | undefined = existsSync(join(LAB_AARCH64_DIR, '.done'))
  ? undefined
  : `${join(LAB_AARCH64_DIR, '.done')} is missing: bash scripts/setup-lab.sh --aarch64 makes it (Debian hosts only)`
export const FIXTURE_FLAKE_SOURCE: string = join(REPO_ROOT, 'tests', 'fixtures', 'offline-iso')

// Temp dirs this process made; removed when it exits (the Nix store keeps what was built).
const tempDirs: string[] = []
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

/**
 * Every variable the fixture flake reads with builtins.getEnv besides the key: the action hands
 * nix only an allow-list (src/shared/child-env.ts), so a run names them in its pass-env input.
 */
export const LAB_PASS_ENV: readonly string[] = [
  'BOOT_IMAGE_VM_LAB_KERNEL',
  'BOOT_IMAGE_VM_LAB_ROOTFS',
  'BOOT_IMAGE_VM_LAB_AARCH64',
  'BOOT_IMAGE_VM_CACHE_NONCE',
  'BOOT_IMAGE_VM_CACHE_ROUNDS',
  'BOOT_IMAGE_VM_CACHE_FAIL',
  'BOOT_IMAGE_VM_REMOTE_NONCE',
  'BOOT_IMAGE_VM_REMOTE_FAIL'
]
/** A stage context's childEnv for the lab (what the pass-env input gives a run). */
export const LAB_CHILD_ENV = { keyVar: 'PRE_NIXOS_ROOT_KEY', passEnv: LAB_PASS_ENV }

/**
 * process.env plus what every lab nix call needs: the isolated config dir, the kernel dir and the
 * systemd root filesystem dir (read only by the systemdImage attribute).
 */
export function labNixEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NIX_CONF_DIR: LAB_NIX_CONF_DIR,
    BOOT_IMAGE_VM_LAB_KERNEL: LAB_KERNEL_DIR,
    BOOT_IMAGE_VM_LAB_ROOTFS: LAB_ROOTFS_DIR,
    BOOT_IMAGE_VM_LAB_AARCH64: LAB_AARCH64_DIR,
    ...extra
  }
}

function assertLabReady(attr?: string): void {
  for (const file of [join(LAB_NIX_CONF_DIR, 'nix.conf'), join(LAB_KERNEL_DIR, '.done')]) {
    if (!existsSync(file))
      throw new Error(`${file} is missing: run bash scripts/setup-lab.sh first`)
  }
  if (attr === 'systemdImage' && !existsSync(join(LAB_ROOTFS_DIR, '.done'))) {
    throw new Error(
      `${join(LAB_ROOTFS_DIR, '.done')} is missing: run bash scripts/setup-lab.sh --systemd first`
    )
  }
  if (attr === 'aarch64Image' && !existsSync(join(LAB_AARCH64_DIR, '.done'))) {
    throw new Error(
      `${join(LAB_AARCH64_DIR, '.done')} is missing: run bash scripts/setup-lab.sh --aarch64 first`
    )
  }
}

/** A fresh git copy of tests/fixtures/offline-iso (flakes see only tracked files). */
export function makeFixtureFlake(): string {
  const dir = tempDir('boot-image-vm-flake-')
  cpSync(FIXTURE_FLAKE_SOURCE, dir, { recursive: true })
  const run = (args: string[]): void => {
    const result = spawnSync('git', args, { cwd: dir, encoding: 'utf8' })
    if (result.status !== 0) {
      throw new Error(`git ${args.join(' ')} failed in ${dir}: ${result.stderr ?? result.error}`)
    }
  }
  run(['init', '-q'])
  run(['config', 'user.name', 'boot-image-vm tests'])
  run(['config', 'user.email', 'tests@boot-image-vm.invalid'])
  run(['config', 'commit.gpgsign', 'false'])
  run(['add', '-A'])
  // A commit too, so Nix does not warn that the tree is dirty.
  run(['commit', '-q', '-m', 'fixture'])
  return dir
}

let sharedFlake: string | undefined
function fixtureFlake(): string {
  sharedFlake ??= makeFixtureFlake()
  return sharedFlake
}

export interface FixtureBuild {
  exitCode: number
  stdout: string
  stderr: string
  outPath?: string
}

/**
 * `nix build <fixture flake>#<attr> --impure --json --no-link` with PRE_NIXOS_ROOT_KEY set to
 * publicKeyPath. env defaults to labNixEnv(); extraArgs go after the installable (e.g. --keep-going).
 */
export function buildFixture(
  attr: string,
  publicKeyPath: string,
  env: NodeJS.ProcessEnv = labNixEnv(),
  extraArgs: string[] = []
): Promise<FixtureBuild> {
  assertLabReady(attr)
  const args = [
    'build',
    `${fixtureFlake()}#${attr}`,
    '--impure',
    '--json',
    '--no-link',
    ...extraArgs
  ]
  return new Promise((resolvePromise, reject) => {
    const child = spawn('nix', args, {
      env: { ...env, PRE_NIXOS_ROOT_KEY: publicKeyPath },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', code => {
      const exitCode = code ?? 1
      let outPath: string | undefined
      if (exitCode === 0) {
        try {
          const parsed = JSON.parse(stdout) as { outputs?: { out?: string } }[]
          outPath = parsed[0]?.outputs?.out
        } catch {
          outPath = undefined
        }
      }
      resolvePromise({ exitCode, stdout, stderr, outPath })
    })
  })
}

export interface FixtureIso {
  iso: string
  privateKeyPath: string
  publicKeyPath: string
}

/** A fresh ed25519 key pair in OpenSSH format in a temp dir (id_ed25519, id_ed25519.pub). */
export function makeKeyPair(): { privateKeyPath: string; publicKeyPath: string } {
  const dir = tempDir('boot-image-vm-key-')
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'boot-image-vm-tests' })
  const privateKeyPath = join(dir, 'id_ed25519')
  const publicKeyPath = join(dir, 'id_ed25519.pub')
  writeFileSync(privateKeyPath, pair.private, { mode: 0o600 })
  chmodSync(privateKeyPath, 0o600)
  writeFileSync(publicKeyPath, `${pair.public}\n`)
  return { privateKeyPath, publicKeyPath }
}

const isoCache = new Map<string, Promise<FixtureIso>>()

/** Builds (once per process and attr) a bootable fixture ISO for a fresh key; the ISO is in /nix/store. */
export function fixtureIso(attr = 'bootImage'): Promise<FixtureIso> {
  let pending = isoCache.get(attr)
  if (!pending) {
    pending = (async () => {
      const keys = makeKeyPair()
      const build = await buildFixture(attr, keys.publicKeyPath)
      if (build.exitCode !== 0 || !build.outPath) {
        throw new Error(`nix build of fixture ${attr} failed (${build.exitCode}):\n${build.stderr}`)
      }
      const isos = readdirSync(join(build.outPath, 'iso')).filter(name => name.endsWith('.iso'))
      if (isos.length !== 1)
        throw new Error(`expected one ISO in ${build.outPath}/iso, got ${isos}`)
      return { iso: join(build.outPath, 'iso', isos[0]), ...keys }
    })()
    pending.catch(() => isoCache.delete(attr))
    isoCache.set(attr, pending)
  }
  return pending
}

/** A free TCP port on 127.0.0.1 (for QEMU's hostfwd). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolvePromise(port))
    })
  })
}

export interface FixtureVm {
  process: ChildProcess
  /** Host port forwarded to the guest's :22. */
  port: number
  serialLog: string
  /** Kills QEMU (SIGKILL) and waits for it to exit; safe to call more than once. */
  stop(): Promise<void>
}

/** Boots an ISO with QEMU under TCG (never KVM), user networking, virtio-net, serial to a file. */
export async function startFixtureVm(
  iso: string,
  options: { uefi?: boolean } = {}
): Promise<FixtureVm> {
  const dir = tempDir('boot-image-vm-qemu-')
  const port = await freePort()
  const serialLog = join(dir, 'serial.log')
  const args = ['-accel', 'tcg', '-m', '512', '-display', 'none', '-no-reboot']
  if (options.uefi) {
    const vars = join(dir, 'OVMF_VARS.fd')
    cpSync('/usr/share/OVMF/OVMF_VARS_4M.fd', vars)
    args.push('-machine', 'q35')
    args.push('-drive', 'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd')
    args.push('-drive', `if=pflash,format=raw,file=${vars}`)
  }
  args.push('-cdrom', iso, '-serial', `file:${serialLog}`)
  args.push('-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`)
  args.push('-device', 'virtio-net-pci,netdev=n0')
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<void>(resolvePromise => child.once('exit', () => resolvePromise()))
  return {
    process: child,
    port,
    serialLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  }
}

/** One SSH attempt with ssh2: runs command, resolves with its stdout and exit code. */
export function sshExec(
  port: number,
  privateKeyPath: string,
  command: string,
  timeoutMs = 10_000
): Promise<{ stdout: string; code: number | null; hostKeySha256?: string }> {
  return new Promise((resolvePromise, reject) => {
    const client = new ssh2.Client()
    let hostKeySha256: string | undefined
    const timer = setTimeout(() => {
      client.end()
      reject(new Error(`ssh to 127.0.0.1:${port} timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    const fail = (error: Error): void => {
      clearTimeout(timer)
      client.end()
      reject(error)
    }
    client.on('error', fail)
    client.on('close', () => fail(new Error('connection closed')))
    client.on('ready', () => {
      client.exec(command, (error, stream) => {
        if (error) return fail(error)
        let stdout = ''
        stream.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
        stream.stderr.on('data', () => undefined)
        stream.on('close', (code: number | null) => {
          clearTimeout(timer)
          client.end()
          resolvePromise({ stdout, code, hostKeySha256 })
        })
      })
    })
    client.connect({
      host: '127.0.0.1',
      port,
      username: 'root',
      privateKey: readFileSync(privateKeyPath, 'utf8'),
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        hostKeySha256 = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
        return true
      }
    })
  })
}

/** Retries sshExec (fresh client each time, short attempts) until it works or the deadline passes. */
export async function waitForSsh(
  vm: FixtureVm,
  privateKeyPath: string,
  command = 'echo ok',
  deadlineMs = 180_000
): Promise<{ stdout: string; code: number | null; hostKeySha256?: string; seconds: number }> {
  const started = Date.now()
  let lastError: unknown
  while (Date.now() - started < deadlineMs) {
    if (vm.process.exitCode !== null || vm.process.signalCode !== null) {
      throw new Error(
        `QEMU exited (${vm.process.exitCode ?? vm.process.signalCode}) before SSH worked`
      )
    }
    try {
      const result = await sshExec(vm.port, privateKeyPath, command, 5_000)
      return { ...result, seconds: (Date.now() - started) / 1000 }
    } catch (error) {
      lastError = error
      await new Promise(r => setTimeout(r, 1_000))
    }
  }
  throw new Error(`no SSH within ${deadlineMs} ms: ${String(lastError)}`)
}

/** Polls the VM's serial log until pattern matches; returns the matching line. */
export async function waitForSerial(
  vm: FixtureVm,
  pattern: RegExp,
  timeoutMs = 120_000
): Promise<string> {
  const started = Date.now()
  for (;;) {
    const text = existsSync(vm.serialLog) ? readFileSync(vm.serialLog, 'utf8') : ''
    const line = text.split(/\r?\n/).find(l => pattern.test(l))
    if (line !== undefined) return line
    if (vm.process.exitCode !== null || vm.process.signalCode !== null) {
      throw new Error(`QEMU exited before the serial log showed ${pattern}:\n${text.slice(-2000)}`)
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `no ${pattern} on the serial console within ${timeoutMs} ms:\n${text.slice(-2000)}`
      )
    }
    await new Promise(r => setTimeout(r, 250))
  }
}

/** Adds a package to a fixture flake copy (from makeFixtureFlake) and commits it, for one test's own variant. */
export function addFixturePackage(flake: string, name: string, definition: string): void {
  const file = join(flake, 'flake.nix')
  const marker = 'packages.${system} = {'
  const text = readFileSync(file, 'utf8')
  if (!text.includes(marker)) throw new Error(`${file} has no '${marker}' to add ${name} to`)
  writeFileSync(file, text.replace(marker, `${marker}\n        ${name} = ${definition};`))
  const commit = spawnSync('git', ['commit', '-qam', `add ${name}`], {
    cwd: flake,
    encoding: 'utf8'
  })
  if (commit.status !== 0) throw new Error(`git commit failed in ${flake}: ${commit.stderr}`)
}

/**
 * Adds `payload` (a fresh derivation that does not depend on the key) and `layeredImage` (the
 * fixture's `base` image depending on it, as a NixOS image depends on its packages) to a fixture
 * flake copy: every call makes new .drvs. Returns the payload's output path.
 */
export function addLayeredImage(flake: string, base: 'bootImage' | 'bootKeyImage'): string {
  const nonce = randomBytes(8).toString('hex')
  addFixturePackage(
    flake,
    'payload',
    `drv { name = "cache-test-payload"; nonce = "${nonce}"; args = [ "-c" "echo $nonce > $out" ]; }`
  )
  addFixturePackage(
    flake,
    'layeredImage',
    `builtins.derivation (self.packages.\${system}.${base}.drvAttrs // { cachePayload = self.packages.\${system}.payload; })`
  )
  const payload = spawnSync('nix', ['eval', '--raw', `${flake}#payload.outPath`], {
    env: labNixEnv(),
    encoding: 'utf8'
  })
  if (payload.status !== 0) throw new Error(`nix eval ${flake}#payload: ${payload.stderr}`)
  return payload.stdout
}

/** Deletes store paths (and nothing that still needs them), as on a fresh runner. */
export function deleteStorePaths(paths: string[]): void {
  const result = spawnSync('nix', ['store', 'delete', ...paths], {
    env: labNixEnv(),
    encoding: 'utf8'
  })
  if (result.status !== 0) throw new Error(`nix store delete: ${result.stderr}`)
}
