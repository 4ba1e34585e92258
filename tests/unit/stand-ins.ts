// Stand-ins for what the in-process tests of main, post and the pipeline cannot have here: the
// stage entry points that start processes (Nix, apt, QEMU, the KVM check) and the runner. Each
// stand-in returns a typed result at once and records how it was called; a test overrides the one
// it is about. What they cannot prove (the real stages' processes and their results) the e2e
// tests prove.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Log } from '../../src/shared/log.js'
import type {
  BuildResult,
  NixInstallation,
  QemuProvision,
  SetupResult,
  VmStageResult
} from '../../src/model/index.js'
import { REAL_STAGES, type PipelineStages } from '../../src/pipeline/index.js'
import type { RunnerPort } from '../../src/runner/port.js'

export type StageName = keyof PipelineStages

export const NIX: NixInstallation = {
  nixPath: '/stand-in/bin/nix',
  version: '2.24.0',
  variant: 'nix',
  capabilities: {
    printOutPaths: true,
    jsonLogPath: false,
    configShow: [],
    derivationShow: [],
    storeInfo: []
  },
  env: {},
  storeMode: 'daemon'
}

export const SETUP_OK: SetupResult = {
  ok: true,
  nix: NIX,
  changes: [],
  cleanupPaths: ['/stand-in/work/nix.conf'],
  kvm: { action: 'already usable', deviceUsable: true }
}

export function qemuReady(arch: 'x86_64' | 'aarch64' = 'x86_64'): QemuProvision {
  return {
    status: 'ready',
    mode: 'auto',
    arch,
    source: 'path',
    binary: `/stand-in/bin/qemu-system-${arch}`,
    version: '9.0.0',
    attempts: [{ source: 'path', outcome: 'used', reason: 'stand-in', durationMs: 0 }],
    readyAfterMs: 0
  }
}

export const VM_PASSED: VmStageResult = {
  boot: { status: 'passed', timeline: [], screenshots: [], accel: 'tcg', bootSeconds: 1 },
  probes: []
}

/** A file checkIsoFile takes for an ISO: the ISO 9660 signature where it belongs. */
export function fakeIso(dir = mkdtempSync(join(tmpdir(), 'stand-in-iso-'))): string {
  const bytes = Buffer.alloc(16 * 2048 + 8)
  bytes.write('CD001', 16 * 2048 + 1, 'latin1')
  const path = join(dir, 'image.iso')
  writeFileSync(path, bytes)
  return path
}

export function builtIso(iso: string, context: BuildResult['context'] = 'host'): BuildResult {
  return {
    context,
    status: 'passed',
    drvPath: '/nix/store/00000000000000000000000000000000-image.drv',
    outPath: '/nix/store/00000000000000000000000000000000-image',
    isoPath: iso,
    failures: [],
    dependents: [],
    durationMs: 0
  }
}

export interface StandIns {
  stages: PipelineStages
  /** Every call, in order: the stage's name and its arguments. */
  calls: { stage: StageName; args: unknown[] }[]
  /** The names called, in order. */
  called(): StageName[]
  argsOf<N extends StageName>(stage: N): Parameters<PipelineStages[N]>[]
}

/** Stand-in stages: a passing run (ISO `iso`) unless `overrides` says otherwise. */
export function standInStages(iso: string, overrides: Partial<PipelineStages> = {}): StandIns {
  const defaults: PipelineStages = {
    setupNix: async () => SETUP_OK,
    qemuFromPath: async request => ({ ...qemuReady(request.arch), mode: request.mode }),
    provisionQemu: async request => ({ ...qemuReady(request.arch), mode: request.mode }),
    checkKvm: async () => ({ runsGuest: false, reason: 'stand-in: no KVM', durationMs: 0 }),
    restoreImageCache: async () => ({ status: 'miss', hit: false, detail: 'stand-in: no entry' }),
    buildImage: async (_nix, request) => builtIso(iso, request.context),
    devshellEnvPath: async () => undefined,
    diffBuildEnvironment: async () => ({
      ok: true,
      verdicts: ['stand-in: no differences'],
      differences: [],
      durationMs: 0
    }),
    runVm: async () => VM_PASSED
  }
  const calls: StandIns['calls'] = []
  const stages = Object.fromEntries(
    (Object.keys(REAL_STAGES) as StageName[]).map(name => {
      const fn = (overrides[name] ?? defaults[name]) as (...args: unknown[]) => unknown
      return [
        name,
        (...args: unknown[]) => {
          calls.push({ stage: name, args })
          return fn(...args)
        }
      ]
    })
  ) as unknown as PipelineStages
  return {
    stages,
    calls,
    called: () => calls.map(call => call.stage),
    argsOf: <N extends StageName>(stage: N) =>
      calls
        .filter(call => call.stage === stage)
        .map(call => call.args as Parameters<PipelineStages[N]>)
  }
}

export interface LogLine {
  level: 'info' | 'echo' | 'debug' | 'warning' | 'error'
  message: string
}

/** A log that keeps every line, and groups that only run their work. */
export function recordingLog(lines: LogLine[] = []): Log & { lines: LogLine[] } {
  const say = (level: LogLine['level']) => (message: string) => void lines.push({ level, message })
  return {
    lines,
    info: say('info'),
    echo: (source, text) => lines.push({ level: 'echo', message: `${source}: ${text}` }),
    debug: say('debug'),
    warning: say('warning'),
    error: say('error'),
    group: (_name, fn) => fn()
  }
}

/** A runner that keeps what the step told it: state, outputs, failures, the summary, the log. */
export interface FakeRunner extends RunnerPort {
  inputs: Record<string, string>
  state: Record<string, string>
  outputs: Record<string, string>
  failures: string[]
  summaries: string[]
  secrets: string[]
  exported: Record<string, string>
  paths: string[]
  log: Log & { lines: LogLine[] }
  /** The runner's cancel, as SIGINT would deliver it. */
  cancel(signal?: NodeJS.Signals): void
  warnings(): string[]
}

export function fakeRunner(
  options: {
    inputs?: Record<string, string>
    state?: Record<string, string>
    env?: NodeJS.ProcessEnv
  } = {}
): FakeRunner {
  const listeners: ((signal: NodeJS.Signals) => void)[] = []
  const runner: FakeRunner = {
    inputs: { ...options.inputs },
    state: { ...options.state },
    outputs: {},
    failures: [],
    summaries: [],
    secrets: [],
    exported: {},
    paths: [],
    log: recordingLog(),
    env: options.env ?? {},
    getInput: name => runner.inputs[name] ?? '',
    saveState: (name, value) => void (runner.state[name] = value),
    getState: name => runner.state[name] ?? '',
    setOutput: (name, value) => void (runner.outputs[name] = value),
    setSecret: value => void runner.secrets.push(value),
    writeSummary: async markdown => void runner.summaries.push(markdown),
    exportVariable: (name, value) => void (runner.exported[name] = value),
    addPath: dir => void runner.paths.push(dir),
    setFailed: message => void runner.failures.push(message),
    onCancel: listener => void listeners.push(listener),
    cancel: (signal = 'SIGINT') => listeners.forEach(listener => listener(signal)),
    warnings: () => runner.log.lines.filter(l => l.level === 'warning').map(l => l.message)
  }
  return runner
}
