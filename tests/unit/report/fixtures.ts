// Reports for the report tests: a passing run, and one of each failure kind.
import type {
  BuildResult,
  FailedDerivation,
  ProbeResult,
  Report,
  Result,
  StageName
} from '../../../src/model/index.js'

export const ISO_DRV =
  '/nix/store/sxdfwpm10pwks6cppwbk2w9vqyxk8dpg-nixos-24.05-x86_64-linux.iso.drv'
export const ISO_OUT = '/nix/store/49m7n0iaz9v4clk8zl9hf2srbn7gap9p-nixos-24.05-x86_64-linux.iso'

export function failure(name = 'nixos-24.05-x86_64-linux.iso', tail = ['xorriso: error']) {
  return {
    drv: `/nix/store/aaaabbbbccccddddeeeeffffgggghhhh-${name}.drv`,
    name,
    reason: 'builder failed with exit code 1',
    exitCode: 1,
    log: `build/failed/${name}.log`,
    tail
  } satisfies FailedDerivation
}

export function build(over: Partial<BuildResult> = {}): BuildResult {
  return {
    context: 'host',
    status: 'passed',
    drvPath: ISO_DRV,
    outPath: ISO_OUT,
    isoPath: `${ISO_OUT}/iso/nixos.iso`,
    failures: [],
    dependents: [],
    durationMs: 31_000,
    ...over
  }
}

export function probe(name: string, over: Partial<ProbeResult> = {}): ProbeResult {
  return {
    name,
    command: `echo ${name}`,
    required: true,
    exitCode: 0,
    timedOut: false,
    missing: false,
    durationMs: 120,
    file: `probes/${name}.txt`,
    ...over
  }
}

export function passedReport(): Report {
  const stage = (detail: string) => ({ status: 'passed' as const, durationMs: 1500, detail })
  return {
    schemaVersion: 1,
    result: 'passed',
    decidedBy: null,
    complete: true,
    startedAt: '2026-11-25T18:00:00.000Z',
    finishedAt: '2026-11-25T18:05:00.000Z',
    stages: {
      setup: stage('Nix 2.31.2 (existing)'),
      build: stage('built'),
      'env-diff': stage('2 differences'),
      boot: stage('ssh after 42.0 s (kvm)'),
      probes: stage('9 of 9'),
      test: stage('exit 0'),
      upload: stage('uploaded')
    },
    setup: {
      ok: true,
      nix: {
        nixPath: '/nix/var/nix/profiles/default/bin/nix',
        version: '2.31.2',
        variant: 'nix',
        capabilities: {
          printOutPaths: true,
          configShow: ['config', 'show'],
          derivationShow: ['derivation', 'show'],
          storeInfo: ['store', 'info'],
          jsonLogPath: true
        },
        env: {},
        storeMode: 'daemon'
      },
      changes: ['udev rule for /dev/kvm'],
      cleanupPaths: [],
      kvm: { action: 'already usable', deviceUsable: true }
    },
    builds: [build()],
    envDiff: { ok: true, verdicts: ['The two contexts agree.'], differences: [], durationMs: 900 },
    vm: {
      boot: {
        status: 'passed',
        accel: 'kvm',
        kvmCheck: { runsGuest: true, reason: 'ran a guest', durationMs: 300 },
        bootSeconds: 42.04,
        timeline: [
          { name: 'kernel', seconds: 1.2, line: 'Linux version 6.6' },
          { name: 'ready', seconds: 42 }
        ],
        screenshots: [],
        hostKeyFingerprint: 'SHA256:abc'
      },
      probes: [probe('system-state'), probe('journal', { required: false })],
      test: { exitCode: 0, timedOut: false, durationMs: 5000, file: 'test/output.log' }
    },
    upload: {
      status: 'uploaded',
      artifactId: 1234,
      artifactUrl: 'https://github.com/o/r/actions/runs/1/artifacts/1234',
      detail: 'boot-image-vm-logs (12 files)',
      withheld: []
    }
  }
}

const failedStage = (detail: string) => ({ status: 'failed' as const, durationMs: 1000, detail })

/** A report that failed the given way, decided by the stage that decides it. */
export function failedReport(result: Exclude<Result, 'passed'>): Report {
  const report = passedReport()
  const decide = (stage: StageName) => {
    report.result = result
    report.decidedBy = stage
    report.stages[stage] = failedStage(result)
  }
  switch (result) {
    case 'setup-failed':
      decide('setup')
      report.setup = {
        ...report.setup!,
        ok: false,
        error: 'nix: command not found',
        nix: undefined
      }
      report.builds = []
      delete report.vm
      delete report.envDiff
      break
    case 'eval-failed':
      decide('build')
      report.builds = [
        build({
          status: 'eval-failed',
          error: "error: attribute 'bootImage' missing",
          drvPath: undefined,
          outPath: undefined,
          isoPath: undefined
        })
      ]
      delete report.vm
      break
    case 'build-failed':
      decide('build')
      report.builds = [
        build({
          status: 'build-failed',
          outPath: undefined,
          isoPath: undefined,
          failures: [failure()]
        })
      ]
      delete report.vm
      break
    case 'boot-failed':
      decide('boot')
      report.vm!.boot = {
        status: 'failed',
        error: 'SSH did not answer within 600 s',
        accel: 'tcg',
        panic: 'Kernel panic - not syncing: VFS: Unable to mount root fs',
        timeline: [{ name: 'kernel', seconds: 3 }],
        screenshots: ['vm/boot-failed.png']
      }
      report.vm!.probes = []
      delete report.vm!.test
      break
    case 'probe-failed':
      decide('probes')
      report.vm!.probes = [
        probe('system-state', { exitCode: 1 }),
        probe('journal', { required: false })
      ]
      delete report.vm!.test
      break
    case 'test-failed':
      decide('test')
      report.vm!.test = { exitCode: 3, timedOut: false, durationMs: 100, file: 'test/output.log' }
      break
  }
  return report
}

export const FAILURE_KINDS = [
  'setup-failed',
  'eval-failed',
  'build-failed',
  'boot-failed',
  'probe-failed',
  'test-failed'
] as const satisfies readonly Exclude<Result, 'passed'>[]
