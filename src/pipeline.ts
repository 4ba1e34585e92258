// The whole job as the mission states it: set up Nix, build the image with an ephemeral key, diff
// the build environment against the devshell, boot and probe the image. Composes the stages, keeps
// report.json current after each one, and is the only place that decides the verdict.
import type { StageContext } from './context.js'
import type { Inputs } from './inputs.js'
import { createEphemeralKey, providedKey, type EphemeralKey } from './key.js'
import type {
  BuildContext,
  BuildResult,
  KvmCheck,
  NixInstallation,
  QemuProvision,
  Report,
  SetupResult,
  Result,
  StageName,
  StageRecord,
  StageStatus
} from './model.js'
import {
  cacheReport,
  cacheSaveState,
  devshellEnvPath,
  restoreImageCache,
  type CacheRestore,
  type CacheSaveState
} from './cache/image-cache.js'
import { buildImage } from './build/build.js'
import { diffBuildEnvironment } from './env/env-stage.js'
import { setupNix } from './setup/setup.js'
import { nixStepEnv, withNixStepEnv } from './setup/setup-env.js'
import { renderSummary } from './report/summary.js'
import { writeReportFiles } from './report/report-file.js'
import { checkKvm } from './vm/kvm.js'
import type { OvmfFiles } from './vm/qemu.js'
import type { Log } from './log.js'
import { errorMessage, signalChildren } from './process.js'
import { provisionQemu, qemuFromPath, type QemuRequest } from './qemu/index.js'
import { describeProvision } from './qemu/plan.js'
import { runVm } from './vm/stage.js'
import { join } from 'node:path'

export interface PipelineHooks {
  /** The key exists: post must delete its directory. */
  onKey?(key: EphemeralKey): void
  /** Files the setup stage created that post must delete. */
  onCleanupPaths?(paths: string[]): void
  /** QEMU runs: post must stop it if main could not. */
  onQemuStarted?(pid: number): void
  /** What the post step needs to save the image cache. */
  onCacheSave?(state: CacheSaveState): void
  /** Setup is done: later steps may get its Nix now (a crash or cancel later still leaves it). */
  onSetup?(setup: SetupResult): void
}

export interface Verdict {
  result: Result
  decidedBy: StageName | null
}

/** The verdict from what the stages returned, in the order the stages run. */
export function decideVerdict(report: Report): Verdict {
  if (report.setup && !report.setup.ok) return { result: 'setup-failed', decidedBy: 'setup' }
  // No QEMU can come: the build was stopped for it (a stopped provisioning was not needed).
  if (report.qemu?.status === 'failed') return { result: 'setup-failed', decidedBy: 'qemu' }
  const failedBuild = report.builds.find(build => build.status !== 'passed')
  if (failedBuild) return { result: failedBuild.status as Result, decidedBy: 'build' }
  const vm = report.vm
  if (vm?.boot.status === 'failed') return { result: 'boot-failed', decidedBy: 'boot' }
  if (vm?.probes.some(probe => probe.required && (probe.exitCode !== 0 || probe.timedOut))) {
    return { result: 'probe-failed', decidedBy: 'probes' }
  }
  if (vm?.test && (vm.test.exitCode !== 0 || vm.test.timedOut)) {
    return { result: 'test-failed', decidedBy: 'test' }
  }
  // A cancelled run never passes: blame the stage that was cut short.
  if (report.cancelled) {
    // A skipped build: the ISO was given (input 'iso'), so only the boot can have been cut short.
    return vm ||
      report.stages.build?.status === 'passed' ||
      report.stages.build?.status === 'skipped'
      ? { result: 'boot-failed', decidedBy: 'boot' }
      : { result: 'build-failed', decidedBy: 'build' }
  }
  return { result: 'passed', decidedBy: null }
}

/** Contexts to build in, in order; the first one's ISO is the one booted. */
export function buildContexts(inputs: Inputs): BuildContext[] {
  return inputs.buildIn === 'both' ? ['host', 'devshell'] : [inputs.buildIn]
}

/**
 * What runs beside the stages: QEMU's provisioning, the KVM check (once QEMU exists) and the env
 * diff. Each promise never rejects, and every path out of the run awaits all of them: none of
 * their processes (a QEMU, a nix, an apt-get) outlives the run.
 */
interface Beside {
  qemu?: Promise<QemuProvision>
  kvm?: Promise<KvmCheck>
  envDiff?: Promise<void>
  /** Aborted when nobody needs QEMU any more (a failed build, the end of the run). */
  stopQemu: AbortController
}

/** The reason for every stage that input 'iso' leaves out. */
export const ISO_GIVEN = "input 'iso' given"
/** The reason for the stages that input 'boot: false' leaves out. */
export const BOOT_OFF = "input 'boot' is false"

/** What setup's KVM wait gets when QEMU is not there yet (see runStages). */
const KVM_NOT_CHECKED_YET: KvmCheck = {
  runsGuest: false,
  reason:
    'not checked before the build: QEMU is provisioned beside it (the kvm system feature only matters to derivations that require it)',
  durationMs: 0
}

export async function runPipeline(
  inputs: Inputs,
  ctx: StageContext,
  hooks: PipelineHooks = {}
): Promise<Report> {
  const beside: Beside = { stopQemu: new AbortController() }
  try {
    return await runStages(inputs, ctx, hooks, beside)
  } finally {
    // A stage that threw still leaves nothing behind: provisioning first (it may start the KVM
    // check), then the rest.
    beside.stopQemu.abort()
    await beside.qemu
    await beside.kvm
    await beside.envDiff
  }
}

async function runStages(
  inputs: Inputs,
  ctx: StageContext,
  hooks: PipelineHooks,
  beside: Beside
): Promise<Report> {
  const startedAt = Date.now()
  const report: Report = {
    schemaVersion: 1,
    result: 'passed',
    decidedBy: null,
    complete: false,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: '',
    stages: {},
    builds: []
  }
  const save = (): void => {
    Object.assign(report, decideVerdict(report), { finishedAt: new Date().toISOString() })
    writeReportFiles(ctx.reportDir, report, renderSummary(report))
  }
  const stage = async <T>(
    name: StageName,
    title: string,
    work: () => Promise<T>,
    judge: (result: T) => Omit<StageRecord, 'durationMs'>
  ): Promise<T> => {
    const started = Date.now()
    const result = await ctx.log.group(title, work)
    report.stages[name] = { ...judge(result), durationMs: Date.now() - started }
    save()
    return result
  }
  const cancelled = (): boolean => ctx.signal.aborted
  // Every way out: whatever runs beside is stopped or awaited, and its results are in the report.
  const end = async (): Promise<Report> => {
    beside.stopQemu.abort()
    await beside.qemu
    await beside.kvm
    await beside.envDiff
    return finish(report, save, ctx.signal)
  }
  const kvmCheck = (qemu: string): Promise<KvmCheck> =>
    (beside.kvm ??=
      inputs.kvm === 'off'
        ? Promise.resolve({
            runsGuest: false,
            reason: "not checked: input 'kvm' is off",
            durationMs: 0
          })
        : checkKvm({ qemu }))

  // The user's key (input 'ssh-key') replaces the ephemeral one everywhere, and is masked the same.
  const key = inputs.sshKey
    ? providedKey(inputs.sshKey, ctx.tempDir)
    : createEphemeralKey(ctx.tempDir)
  ctx.secrets.add(key.privateKey)
  hooks.onKey?.(key)

  // QEMU: the path source now (milliseconds), the others beside setup and the build. A provisioning
  // that fails stops the build: an image that cannot be booted is not worth waiting for.
  let nixReady: (nix: NixInstallation | undefined) => void = () => {}
  const setupNixPromise = new Promise<NixInstallation | undefined>(r => (nixReady = r))
  // A given ISO needs no Nix: no setup runs, and the nix source of QEMU is passed over.
  if (inputs.iso) nixReady(undefined)
  const buildStop = new AbortController()
  let building = false
  // Without a boot (input 'boot' false) no QEMU is provisioned at all.
  if (!inputs.boot) report.stages.qemu = { status: 'skipped', durationMs: 0, detail: BOOT_OFF }
  const noQemu: { ready?: string; settled: boolean } = { settled: true }
  const qemu = !inputs.boot
    ? noQemu
    : await startQemu(
        inputs,
        ctx,
        { startedAt, nix: () => setupNixPromise, noNix: inputs.iso ? ISO_GIVEN : undefined },
        beside,
        provision => {
          report.qemu = provision
          report.stages.qemu = qemuStageRecord(provision)
          if (provision.status === 'ready' && provision.binary) void kvmCheck(provision.binary)
          if (provision.status === 'failed') {
            buildStop.abort()
            // The build's nix (and the env diff's, the only other children by now) end here.
            if (building) signalChildren('SIGTERM')
          }
          save()
        }
      )
  if (inputs.qemu === 'path') await beside.qemu
  // Set by the provisioning's handler whenever it settles, so read anew at each point.
  const qemuFailed = (): boolean => report.qemu?.status === 'failed'
  if (qemuFailed()) return end()

  /** Boot `iso` once QEMU is provisioned: ready by now unless provisioning is slower than the build. */
  const bootWhenQemuReady = async (
    iso: string,
    nix: NixInstallation | undefined
  ): Promise<Report> => {
    const waitStarted = Date.now()
    if (!qemu.settled) ctx.log.info('The image is ready; waiting for QEMU to be provisioned.')
    const provision = await beside.qemu
    if (provision?.status !== 'ready' || !provision.binary || cancelled()) return end()
    provision.bootWaitedMs = Date.now() - waitStarted
    save()
    const provisioned = { binary: provision.binary, ovmf: provision.ovmf }
    await bootStage(inputs, iso, provisioned, key, kvmCheck, nix, ctx, hooks, report)
    return end()
  }

  if (inputs.iso) {
    for (const name of ['setup', 'build', 'env-diff'] as const) {
      report.stages[name] = { status: 'skipped', durationMs: 0, detail: ISO_GIVEN }
    }
    report.cache = { status: 'disabled', detail: ISO_GIVEN }
    save()
    ctx.log.info(`Booting the given ISO ${inputs.iso}: no Nix, no build, no env diff, no cache.`)
    return bootWhenQemuReady(inputs.iso, undefined)
  }

  const setupRun = stage(
    'setup',
    'Set up Nix',
    () =>
      setupNix(
        {
          mode: inputs.nix,
          nixVersion: inputs.nixVersion,
          extraNixConf: inputs.extraNixConf,
          githubToken: inputs.githubToken,
          // Where Nix's own system features lack kvm, setup waits for this verdict to add it.
          // With QEMU already found it is the real check (the VM reuses it); while QEMU is still
          // being provisioned, setup does not wait for it: the kvm feature only matters to
          // derivations that require it (a NixOS test, not an ISO), and blocking the build on
          // provisioning for it would put apt or nixpkgs' QEMU on the critical path. The real
          // check runs once QEMU exists, for the boot.
          checkKvm: () => (qemu.ready ? kvmCheck(qemu.ready) : Promise.resolve(KVM_NOT_CHECKED_YET))
        },
        ctx
      ),
    result => ({
      status: result.ok ? 'passed' : 'failed',
      detail: result.ok
        ? `${result.nix?.variant} ${result.nix?.version} (${result.nix?.storeMode}); KVM device: ${result.kvm.action}`
        : (result.error ?? 'failed')
    })
  )
  // The nix source waits for setup's Nix; a setup that throws gives it none.
  setupRun.then(
    result => nixReady(result.ok ? result.nix : undefined),
    () => nixReady(undefined)
  )
  const setup = await setupRun
  report.setup = setup
  hooks.onCleanupPaths?.(setup.cleanupPaths)
  hooks.onSetup?.(setup)
  const nix = setup.nix
  if (!setup.ok || !nix || cancelled() || qemuFailed()) return end()

  const keyEnv = { [inputs.rootKeyEnv]: key.publicKeyPath }
  // The env diff runs beside the build and the boot: nobody waits for it but the report.
  if (inputs.devshell) beside.envDiff = startEnvDiff(inputs, nix, keyEnv, ctx, report, save)

  const buildCtx: StageContext = { ...ctx, signal: AbortSignal.any([ctx.signal, buildStop.signal]) }
  building = true
  const builds = await runBuilds(inputs, nix, key, keyEnv, buildCtx, hooks, report, save)
  building = false
  if (buildStop.signal.aborted && !cancelled()) {
    // Stopped for want of QEMU: what the killed build said is not the image's fault.
    report.builds = builds.filter(build => build.status === 'passed')
    report.stages.build = {
      ...(report.stages.build ?? { durationMs: 0 }),
      status: 'skipped',
      detail: 'stopped: no source could provide QEMU (see the qemu stage)'
    }
    return end()
  }

  const iso = builds[0]?.isoPath
  if (!iso || builds.some(build => build.status !== 'passed') || cancelled()) return end()

  if (!inputs.boot) {
    report.stages.boot = { status: 'skipped', durationMs: 0, detail: BOOT_OFF }
    return end()
  }
  return bootWhenQemuReady(iso, nix)
}

/** The path source at once; the rest of the mode's sources beside setup and the build. */
async function startQemu(
  inputs: Inputs,
  ctx: StageContext,
  from: {
    startedAt: number
    nix: () => Promise<NixInstallation | undefined>
    noNix?: string
  },
  beside: Beside,
  settle: (provision: QemuProvision) => void
): Promise<{ ready?: string; settled: boolean }> {
  const request: QemuRequest = {
    mode: inputs.qemu,
    firmware: inputs.firmware,
    flake: inputs.flake,
    ...from
  }
  const state: { ready?: string; settled: boolean } = { settled: false }
  const early = await qemuFromPath(request, ctx)
  if ('status' in early) state.ready = early.binary
  const provisioning =
    'status' in early
      ? Promise.resolve(early)
      : provisionQemu(request, ctx, { stop: beside.stopQemu.signal, cancel: ctx.signal }, [early])
  beside.qemu = provisioning.then(provision => {
    state.settled = true
    settle(provision)
    return provision
  })
  return state
}

function qemuStageRecord(provision: QemuProvision): StageRecord {
  const spent = provision.attempts.reduce((sum, a) => sum + a.durationMs, 0)
  const status: StageStatus =
    provision.status === 'ready' ? 'passed' : provision.status === 'failed' ? 'failed' : 'skipped'
  return { status, durationMs: spent, detail: describeProvision(provision) }
}

/** The env diff, beside the build and the boot; its record lands in the report when it ends. */
function startEnvDiff(
  inputs: Inputs,
  nix: NixInstallation,
  keyEnv: Record<string, string>,
  ctx: StageContext,
  report: Report,
  save: () => void
): Promise<void> {
  const started = Date.now()
  const log = labelledLog(ctx.log, 'env diff')
  log.info(`Diffing the build environment against ${inputs.devshell}, beside the build`)
  return diffBuildEnvironment(
    nix,
    { flake: inputs.flake, image: inputs.image, devshell: inputs.devshell, keyEnv },
    { ...ctx, log }
  )
    .then(
      (result): Omit<StageRecord, 'durationMs'> => {
        report.envDiff = result
        return {
          status: result.ok ? 'passed' : 'warning',
          detail: result.ok ? (result.verdicts[0] ?? 'no differences') : (result.error ?? 'failed')
        }
      },
      (error: unknown): Omit<StageRecord, 'durationMs'> => ({
        status: 'warning',
        detail: `the env diff failed: ${errorMessage(error)}`
      })
    )
    .then(record => {
      report.stages['env-diff'] = { ...record, durationMs: Date.now() - started }
      save()
    })
}

/**
 * A branch's log inside another stage's group: its lines say whose they are, and it opens no
 * group of its own (the job log has one open group at a time).
 */
function labelledLog(log: Log, label: string): Log {
  return {
    info: message => log.info(`[${label}] ${message}`),
    debug: message => log.debug(`[${label}] ${message}`),
    warning: (message, annotation) => log.warning(message, annotation),
    error: (message, annotation) => log.error(message, annotation),
    group: (_name, fn) => fn()
  }
}

/** The cache restore and every build context; report.json after each. */
async function runBuilds(
  inputs: Inputs,
  nix: NixInstallation,
  key: EphemeralKey,
  keyEnv: Record<string, string>,
  ctx: StageContext,
  hooks: PipelineHooks,
  report: Report,
  save: () => void
): Promise<BuildResult[]> {
  const cancelled = (): boolean => ctx.signal.aborted
  const contexts = buildContexts(inputs)
  const restore: CacheRestore = inputs.cache
    ? await ctx.log.group('Restore the image cache', () =>
        restoreImageCache(
          nix,
          {
            flake: inputs.flake,
            image: inputs.image,
            keyEnv,
            buildDir: join(ctx.reportDir, 'build'),
            timeoutSeconds: inputs.cacheTimeoutSeconds
          },
          ctx
        )
      )
    : { status: 'disabled', hit: false, detail: "input 'cache' is false" }
  report.cache = cacheReport(restore)
  const builds: BuildResult[] = []
  const started = Date.now()
  for (const [index, context] of contexts.entries()) {
    if (cancelled()) break
    const dir = context === 'devshell' && contexts.length > 1 ? 'build/devshell' : 'build'
    // The same key would make the same .drv, and Nix would only reuse the first context's output:
    // a later context gets a key of its own (as a harness makes a fresh one), so it really builds.
    const buildEnv = index === 0 ? keyEnv : { [inputs.rootKeyEnv]: contextKey(key, context, ctx) }
    const build = await ctx.log.group(`Build ${inputs.image} (${context})`, () =>
      buildImage(
        nix,
        {
          flake: inputs.flake,
          image: inputs.image,
          context,
          devshell: inputs.devshell || undefined,
          env: buildEnv,
          dir: join(ctx.reportDir, dir),
          drvPath: index === 0 && context === 'host' ? restore.drvPath : undefined
        },
        ctx
      )
    )
    builds.push(build)
    report.builds = builds
    save()
  }
  const judged = judgeBuilds(builds, cancelled())
  report.stages.build = {
    ...judged,
    detail: `${judged.detail}; cache: ${restore.status}`,
    durationMs: Date.now() - started
  }
  save()

  // Saved by the post step even when a later stage fails: what was built is worth keeping.
  if (restore.key && !cancelled()) {
    const devshellUsed = Boolean(inputs.devshell) || contexts.includes('devshell')
    const envPath =
      devshellUsed && inputs.devshell
        ? await devshellEnvPath(nix, `${inputs.flake}#${inputs.devshell}`, keyEnv, ctx.tempDir)
        : undefined
    const state = cacheSaveState(restore, nix, {
      roots: [
        ...builds.flatMap(b => (b.outPath ? [b.outPath] : [])),
        ...(envPath ? [envPath] : [])
      ],
      drvPaths: builds.flatMap(b => (b.drvPath ? [b.drvPath] : [])),
      maxSizeMiB: inputs.cacheMaxSizeMiB,
      timeoutSeconds: inputs.cacheTimeoutSeconds
    })
    if (state) hooks.onCacheSave?.(state)
  }
  return builds
}

/** Boot, probes and test with the provisioned QEMU; their records in the report. */
async function bootStage(
  inputs: Inputs,
  iso: string,
  qemu: { binary: string; ovmf?: OvmfFiles },
  key: EphemeralKey,
  kvmCheck: (qemu: string) => Promise<KvmCheck>,
  /** Undefined for a given ISO: the test command then runs with the job's own environment. */
  nix: NixInstallation | undefined,
  ctx: StageContext,
  hooks: PipelineHooks,
  report: Report
): Promise<void> {
  const vmStarted = Date.now()
  const vm = await runVm(
    {
      iso,
      firmware: inputs.firmware,
      qemu: qemu.binary,
      ovmf: qemu.ovmf,
      memoryMiB: inputs.memoryMiB,
      cpus: inputs.cpus,
      kvm: inputs.kvm,
      kvmCheck: inputs.kvm === 'off' ? undefined : await kvmCheck(qemu.binary),
      bootTimeoutSeconds: inputs.bootTimeoutSeconds,
      privateKeyPath: key.privateKeyPath,
      keyRefusedHint: keyRefusedHint(inputs),
      probes: inputs.probes,
      testCommand: inputs.testCommand,
      testTimeoutSeconds: inputs.testTimeoutSeconds,
      onQemuStarted: hooks.onQemuStarted
    },
    // The test command runs with the action's Nix, as later steps do.
    nix ? { ...ctx, env: withNixStepEnv(ctx.env, nixStepEnv(nix, ctx.env)) } : ctx
  )
  report.vm = vm
  const boot = vm.boot
  report.stages.boot = {
    status: boot.status === 'passed' ? 'passed' : 'failed',
    durationMs: Date.now() - vmStarted,
    detail:
      boot.status === 'passed'
        ? `SSH ready after ${boot.bootSeconds?.toFixed(1)} s under ${boot.accel}`
        : (boot.error ?? 'boot failed')
  }
  if (boot.status !== 'passed') return
  const failed = vm.probes.filter(probe => probe.exitCode !== 0 || probe.timedOut)
  const failedRequired = failed.filter(probe => probe.required)
  report.stages.probes = {
    status: failedRequired.length ? 'failed' : failed.length ? 'warning' : 'passed',
    durationMs: vm.probes.reduce((sum, probe) => sum + probe.durationMs, 0),
    detail: `${vm.probes.length - failed.length}/${vm.probes.length} passed${
      failed.length ? `; failed: ${failed.map(probe => probe.name).join(', ')}` : ''
    }`
  }
  if (vm.test) {
    report.stages.test = {
      status: vm.test.exitCode === 0 && !vm.test.timedOut ? 'passed' : 'failed',
      durationMs: vm.test.durationMs,
      detail: vm.test.timedOut ? 'timed out' : `exit code ${vm.test.exitCode}`
    }
  }
}

/** Which key the guest refused, and what to do about it. */
function keyRefusedHint(inputs: Inputs): string {
  if (inputs.sshKey) {
    return `the key in input 'ssh-key' (${inputs.sshKey}) is not one the image trusts: give the private key whose public half the image was built with`
  }
  if (inputs.iso) {
    return `the image probably bakes another key: give its private key as input 'ssh-key' (the run's own key is only offered as the credential ssh.authorized_keys.root)`
  }
  return `the image trusts neither the key passed in '${inputs.rootKeyEnv}' nor the credential ssh.authorized_keys.root`
}

/** A fresh key for one more build context, inside the run's key dir (post deletes it). */
function contextKey(key: EphemeralKey, context: BuildContext, ctx: StageContext): string {
  const extra = createEphemeralKey(join(key.dir, context))
  ctx.secrets.add(extra.privateKey)
  ctx.log.info(
    `${context} build: its own ephemeral key, so Nix builds it instead of reusing the store`
  )
  return extra.publicKeyPath
}

function judgeBuilds(builds: BuildResult[], cancelled: boolean): Omit<StageRecord, 'durationMs'> {
  const failed = builds.filter(build => build.status !== 'passed')
  const status: StageStatus = failed.length || cancelled ? 'failed' : 'passed'
  const describe = (build: BuildResult): string =>
    build.status === 'passed'
      ? `${build.context}: built`
      : `${build.context}: ${build.status}${
          build.failures.length ? ` (${build.failures.map(f => f.name).join(', ')})` : ''
        }`
  return {
    status,
    detail: [...builds.map(describe), ...(cancelled ? ['cancelled'] : [])].join('; ')
  }
}

function finish(report: Report, save: () => void, signal: AbortSignal): Report {
  report.complete = true
  if (signal?.aborted) report.cancelled = true
  save()
  return report
}
