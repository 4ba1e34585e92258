// QEMU and OVMF for the run, from the sources the `qemu` input allows (plan.ts): PATH, the user's
// flake's nixpkgs, apt. The pipeline runs the path source before Nix setup (milliseconds) and the
// rest beside setup and the build; every QEMU of the run (the KVM check, the boot) starts from the
// binary this returns. Never throws: a source that fails is a reason, and no QEMU is a result.
import type { StageContext } from '../shared/context.js'
import type {
  NixInstallation,
  QemuAttempt,
  QemuMode,
  QemuProvision,
  QemuSource
} from '../model/index.js'
import { errorMessage, run } from '../shared/process.js'
import { fromApt, type AptEnvironment } from './apt.js'
import { fromNix } from './nix.js'
import { fromPath } from './path.js'
import {
  describeProvision,
  noQemuError,
  notNeeded,
  notTried,
  sourcesFor,
  stoppedAttempt,
  type QemuTarget,
  type SourceResult
} from './plan.js'
import { readVersionProbe } from './version.js'
import { allowedEnv } from '../shared/child-env.js'

export interface QemuRequest extends QemuTarget {
  mode: QemuMode
  flake: string
  /** Setup's Nix once setup is done (undefined when it failed): the nix source waits for it. */
  nix: () => Promise<NixInstallation | undefined>
  /** Why there is no Nix by design (no setup ran), said instead of a setup failure. */
  noNix?: string
  /** Epoch ms the run started: readyAfterMs counts from it. */
  startedAt: number
  /** Tests: the machine facts the apt source reads. */
  apt?: AptEnvironment
}

export interface QemuSignals {
  /** Nobody needs QEMU any more (the build failed): stop between steps. */
  stop: AbortSignal
  /** The job was cancelled. */
  cancel: AbortSignal
}

/**
 * The path source alone, before Nix setup: a ready provision when it gives QEMU and the mode
 * tries it, else its attempt (failed, or skipped by the mode) for provisionQemu to go on from.
 */
export async function qemuFromPath(
  request: QemuRequest,
  ctx: StageContext
): Promise<QemuProvision | QemuAttempt> {
  if (!sourcesFor(request.mode).includes('path')) return notTried(request.mode, 'path')
  const started = Date.now()
  const tried = await tryOne('path', fromPath(request, ctx.env), ctx, new AbortController().signal)
  if ('reason' in tried) return attempt('path', 'failed', tried.reason, started)
  return ready(request, ctx, tried, [attempt('path', 'used', tried.detail, started)])
}

/** The mode's sources not in `earlier`, in order, until one gives QEMU. */
export async function provisionQemu(
  request: QemuRequest,
  ctx: StageContext,
  signals: QemuSignals,
  earlier: QemuAttempt[] = []
): Promise<QemuProvision> {
  const attempts = [...earlier]
  const either = AbortSignal.any([signals.stop, signals.cancel])
  let current: QemuSource = 'path'
  try {
    for (const source of sourcesFor(request.mode)) {
      if (attempts.some(a => a.source === source)) continue
      current = source
      if (either.aborted) return ended(request, 'stopped', attempts)
      const started = Date.now()
      const tried = await tryOne(source, await gather(source, request, ctx, signals), ctx, either)
      if ('reason' in tried && tried.stopped) {
        const cancelled = signals.cancel.aborted
        attempts.push(stoppedAttempt(source, tried.reason, cancelled, Date.now() - started))
        return ended(request, 'stopped', attempts)
      }
      if ('reason' in tried) {
        attempts.push(attempt(source, 'failed', tried.reason, started))
        ctx.log.echo(`QEMU ${source}`, `passed over: ${tried.reason}`)
        continue
      }
      return ready(request, ctx, tried, [
        ...attempts,
        attempt(source, 'used', tried.detail, started)
      ])
    }
  } catch (error) {
    // A bug, not a machine fact: still a result that says so.
    attempts.push({
      source: current,
      outcome: 'failed',
      reason: `provisioning crashed: ${errorMessage(error)}`,
      durationMs: 0
    })
  }
  return ended(request, either.aborted ? 'stopped' : 'failed', attempts, ctx)
}

async function gather(
  source: QemuSource,
  request: QemuRequest,
  ctx: StageContext,
  signals: QemuSignals
): Promise<SourceResult> {
  switch (source) {
    case 'path':
      return fromPath(request, ctx.env)
    case 'nix': {
      const nix = await request.nix()
      if (!nix) return { reason: request.noNix ?? 'setup gave no usable Nix' }
      return fromNix(nix, request, ctx, AbortSignal.any([signals.stop, signals.cancel]))
    }
    case 'apt':
      return fromApt(request, ctx, signals, request.apt)
  }
}

/** A source's binary, proven to run: `--version` names what it is. */
async function tryOne(
  source: QemuSource,
  result: SourceResult,
  ctx: StageContext,
  signal: AbortSignal
): Promise<SourceResult & { version?: string; detail?: string }> {
  if ('reason' in result) return result
  const probe = await run(result.binary, ['--version'], {
    env: allowedEnv(ctx),
    signal
  })
  const read = readVersionProbe(result.binary, probe)
  if ('stopped' in read) return { reason: read.stopped, stopped: true }
  if ('reason' in read) return read
  const { version } = read
  const where = result.detail && result.detail !== result.binary ? ` in ${result.detail}` : ''
  return { ...result, version, detail: `QEMU ${version} at ${result.binary}${where} (${source})` }
}

function attempt(
  source: QemuSource,
  outcome: QemuAttempt['outcome'],
  reason = '',
  started = Date.now()
): QemuAttempt {
  return { source, outcome, reason, durationMs: Date.now() - started }
}

function ready(
  request: QemuRequest,
  ctx: StageContext,
  found: { binary: string; ovmf?: { code: string; vars: string }; version?: string },
  attempts: QemuAttempt[]
): QemuProvision {
  const used = attempts[attempts.length - 1].source
  const rest = ['path', 'nix', 'apt'] as const
  const all = rest.map(
    source =>
      attempts.find(a => a.source === source) ??
      (sourcesFor(request.mode).includes(source)
        ? notNeeded(source, used)
        : notTried(request.mode, source))
  )
  const provision: QemuProvision = {
    status: 'ready',
    mode: request.mode,
    arch: request.arch,
    source: used,
    binary: found.binary,
    version: found.version,
    ...(found.ovmf ? { ovmf: found.ovmf } : {}),
    attempts: all,
    readyAfterMs: Date.now() - request.startedAt
  }
  ctx.log.info(
    `QEMU ready after ${(provision.readyAfterMs / 1000).toFixed(1)} s: ${describeProvision(provision)}`
  )
  return provision
}

function ended(
  request: QemuRequest,
  status: 'failed' | 'stopped',
  attempts: QemuAttempt[],
  ctx?: StageContext
): QemuProvision {
  const stoppedBefore = (source: QemuSource): QemuAttempt => ({
    source,
    outcome: 'skipped',
    reason: 'not tried: provisioning was stopped (QEMU was not needed any more)',
    durationMs: 0
  })
  const all = (['path', 'nix', 'apt'] as const).map(
    source =>
      attempts.find(a => a.source === source) ??
      (status === 'stopped' && sourcesFor(request.mode).includes(source)
        ? stoppedBefore(source)
        : notTried(request.mode, source))
  )
  const provision: QemuProvision = {
    status,
    mode: request.mode,
    arch: request.arch,
    attempts: all,
    readyAfterMs: Date.now() - request.startedAt
  }
  if (status === 'failed') {
    provision.error = noQemuError(request.mode, request.firmware, all, request.arch)
    ctx?.log.error(provision.error, { title: 'No QEMU' })
  }
  return provision
}
