// The whole job as the mission states it: set up Nix, build the image with an ephemeral key, diff
// the build environment against the devshell, boot and probe the image. Composes the stages, keeps
// report.json current after each one, and is the only place that decides the verdict.
import type { StageContext } from './context.js'
import type { Inputs } from './inputs.js'
import { createEphemeralKey, type EphemeralKey } from './key.js'
import type {
  BuildContext,
  BuildResult,
  KvmCheck,
  Report,
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
import { buildImage } from './nix/build.js'
import { diffBuildEnvironment } from './nix/env-stage.js'
import { setupNix } from './nix/setup.js'
import { renderSummary } from './report/summary.js'
import { writeReportFiles } from './report/report-file.js'
import { checkKvm } from './vm/kvm.js'
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
}

export interface Verdict {
  result: Result
  decidedBy: StageName | null
}

/** The verdict from what the stages returned, in the order the stages run. */
export function decideVerdict(report: Report): Verdict {
  if (report.setup && !report.setup.ok) return { result: 'setup-failed', decidedBy: 'setup' }
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
    return vm
      ? { result: 'boot-failed', decidedBy: 'boot' }
      : { result: 'build-failed', decidedBy: 'build' }
  }
  return { result: 'passed', decidedBy: null }
}

/** Contexts to build in, in order; the first one's ISO is the one booted. */
export function buildContexts(inputs: Inputs): BuildContext[] {
  return inputs.buildIn === 'both' ? ['host', 'devshell'] : [inputs.buildIn]
}

export async function runPipeline(
  inputs: Inputs,
  ctx: StageContext,
  hooks: PipelineHooks = {}
): Promise<Report> {
  // Started by setup, awaited by the VM stage, or by nobody when a stage failed or threw: it must
  // not outlive the run (its QEMU would be left behind).
  let kvm: Promise<KvmCheck> | undefined
  const kvmCheck = (): Promise<KvmCheck> =>
    (kvm ??=
      inputs.kvm === 'off'
        ? Promise.resolve({
            runsGuest: false,
            reason: "not checked: input 'kvm' is off",
            durationMs: 0
          })
        : checkKvm())
  try {
    return await runStages(inputs, ctx, hooks, kvmCheck)
  } finally {
    await kvm
  }
}

async function runStages(
  inputs: Inputs,
  ctx: StageContext,
  hooks: PipelineHooks,
  kvmCheck: () => Promise<KvmCheck>
): Promise<Report> {
  const report: Report = {
    schemaVersion: 1,
    result: 'passed',
    decidedBy: null,
    complete: false,
    startedAt: new Date().toISOString(),
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

  const key = createEphemeralKey(ctx.tempDir)
  ctx.secrets.add(key.privateKey)
  hooks.onKey?.(key)

  const setup = await stage(
    'setup',
    'Set up Nix',
    () =>
      setupNix(
        {
          mode: inputs.nix,
          nixVersion: inputs.nixVersion,
          extraNixConf: inputs.extraNixConf,
          githubToken: inputs.githubToken,
          checkKvm: kvmCheck
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
  report.setup = setup
  hooks.onCleanupPaths?.(setup.cleanupPaths)
  const nix = setup.nix
  if (!setup.ok || !nix || cancelled()) return finish(report, save, ctx.signal)

  const keyEnv = { [inputs.rootKeyEnv]: key.publicKeyPath }
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

  if (inputs.devshell && !cancelled()) {
    report.envDiff = await stage(
      'env-diff',
      `Diff the build environment against ${inputs.devshell}`,
      () =>
        diffBuildEnvironment(
          nix,
          { flake: inputs.flake, image: inputs.image, devshell: inputs.devshell, keyEnv },
          ctx
        ),
      result => ({
        status: result.ok ? 'passed' : 'warning',
        detail: result.ok ? (result.verdicts[0] ?? 'no differences') : (result.error ?? 'failed')
      })
    )
  }

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

  const iso = builds[0]?.isoPath
  if (!iso || builds.some(build => build.status !== 'passed') || cancelled()) {
    return finish(report, save, ctx.signal)
  }

  const vmStarted = Date.now()
  const vm = await runVm(
    {
      iso,
      firmware: inputs.firmware,
      memoryMiB: inputs.memoryMiB,
      cpus: inputs.cpus,
      kvm: inputs.kvm,
      kvmCheck: inputs.kvm === 'off' ? undefined : await kvmCheck(),
      bootTimeoutSeconds: inputs.bootTimeoutSeconds,
      privateKeyPath: key.privateKeyPath,
      probes: inputs.probes,
      testCommand: inputs.testCommand,
      testTimeoutSeconds: inputs.testTimeoutSeconds,
      onQemuStarted: hooks.onQemuStarted
    },
    ctx
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
  if (boot.status === 'passed') {
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
  return finish(report, save, ctx.signal)
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
