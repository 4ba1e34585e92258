// The setup stage: find (or install) Nix, probe it once, open /dev/kvm, and configure Nix for the
// action through its own drop-in. It never edits the user's nix.conf and never aborts only
// because Nix is already there. Everything it did is recorded under <report>/setup/.
import { constants, rmSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type {
  KvmCheck,
  KvmSetup,
  NixCapabilities,
  NixInstallation,
  NixMode,
  SetupResult
} from '../model/index.js'
import { diskReport } from '../shared/disk.js'
import { errorMessage, run } from '../shared/process.js'
import { capabilitiesFor, parseNixVersion } from './capabilities.js'
import { can, defaultSetupPaths, findNix, versionMismatch, type SetupPaths } from './find.js'
import { installNix, PINNED_NIX_VERSION, type DownloadOptions } from './install.js'
import {
  effectiveConfig,
  redactConfig,
  storeModeFor,
  writeDropIn,
  type DropIn,
  type EffectiveConfig
} from './setup-config.js'
import { defaultKvmDeviceOptions, ensureKvmDevice, type KvmDeviceOptions } from './setup-kvm.js'
import { trustSettings, untrustedSettingsWarning } from './untrusted-settings.js'
import { currentUserGroups } from './user-groups.js'
import { allowedEnv } from '../shared/child-env.js'

export { versionMismatch, type SetupPaths } from './find.js'

export interface SetupNixOptions {
  mode: NixMode
  nixVersion: string
  extraNixConf: string[]
  githubToken: string
  /** Never rejects (as checkKvm): setup may leave it running for the VM stage. */
  checkKvm: () => Promise<KvmCheck>
  paths?: Partial<SetupPaths>
  kvmDevice?: Partial<KvmDeviceOptions>
  download?: DownloadOptions
}

/** What setup did so far: the lines of changes.txt, the files post deletes, the KVM device. */
interface Progress {
  dir: string
  changes: string[]
  cleanupPaths: string[]
  kvm: KvmSetup
}

type Outcome = Omit<SetupResult, 'changes' | 'cleanupPaths' | 'kvm'>

export async function setupNix(options: SetupNixOptions, ctx: StageContext): Promise<SetupResult> {
  const paths = { ...defaultSetupPaths(ctx.env), ...options.paths }
  const progress: Progress = {
    dir: join(ctx.reportDir, 'setup'),
    changes: [],
    cleanupPaths: [],
    kvm: { action: 'not looked at (setup stopped earlier)', deviceUsable: false }
  }
  await mkdir(progress.dir, { recursive: true })
  let outcome: Outcome
  try {
    outcome = await setUp(options, paths, progress, ctx)
  } catch (error) {
    outcome = { ok: false, error: ctx.secrets.redact(errorMessage(error)) }
  }
  const { changes, cleanupPaths, kvm } = progress
  const text = changes.length ? changes.map(c => `- ${c}`).join('\n') : '(nothing changed)'
  await writeFile(join(progress.dir, 'changes.txt'), ctx.secrets.redact(text) + '\n')
  return { ...outcome, changes, cleanupPaths, kvm }
}

async function setUp(
  options: SetupNixOptions,
  paths: SetupPaths,
  progress: Progress,
  ctx: StageContext
): Promise<Outcome> {
  // The KVM device first, then whether KVM really runs a guest: the check (a second or so) runs
  // while Nix is found or installed, and on past setup when Nix does not need its verdict.
  const device = await ensureKvmDevice(
    { ...defaultKvmDeviceOptions(), ...options.kvmDevice },
    ctx.log
  )
  progress.kvm = device.kvm
  progress.changes.push(...device.changes)
  const checked = options.checkKvm()

  const found = await findOrInstall(options, paths, progress, ctx)
  if ('error' in found) return { ok: false, error: found.error }
  const probed = await probeNix(found.nixPath, ctx)
  if ('error' in probed) return { ok: false, error: probed.error }
  const mismatch = versionMismatch(options.nixVersion, { nixPath: found.nixPath, ...probed })
  if (mismatch && !found.installed) ctx.log.warning(mismatch, { title: 'nix-version not used' })

  const capabilities = capabilitiesFor(probed.version, probed.variant)
  const configured = await configure(options, found.nixPath, capabilities, checked, progress, ctx)
  const { config, dropIn } = configured
  const storeSetting = ctx.env.NIX_REMOTE ?? stringValue(config.json?.store?.value) ?? 'auto'
  const writable = await can(paths.stateDir, constants.R_OK | constants.W_OK)
  const store = storeModeFor(storeSetting, writable, await can(paths.daemonSocket))
  if (store.mode === 'daemon') {
    progress.changes.push(
      'note: the daemon builds with its own system-features (kvm when /dev/kvm is read-write for it)'
    )
  }
  const nix: NixInstallation = {
    nixPath: found.nixPath,
    ...probed,
    capabilities,
    env: dropIn.env,
    storeMode: store.mode
  }
  warnUntrustedSettings(options.extraNixConf, config, store.mode, progress, ctx)
  const facts = { storeSetting, storeModeReason: store.reason, kvmCheck: configured.check }
  await writeFile(
    join(progress.dir, 'nix.json'),
    JSON.stringify({ ...nix, ...facts }, null, 2) + '\n'
  )
  await writeFile(join(progress.dir, 'disk.txt'), await diskReport(ctx.env))
  return checkFeatures(config, nix, ctx)
}

/** The nix to use: found (unless 'nix: install'), else installed; or why there is none. */
async function findOrInstall(
  options: SetupNixOptions,
  paths: SetupPaths,
  progress: Progress,
  ctx: StageContext
): Promise<{ nixPath: string; installed: boolean } | { error: string }> {
  const searched = () =>
    `PATH (${ctx.env.PATH || 'empty'}) and ${paths.nixLocations.join(', ') || 'no other location'}`
  const nixPath =
    options.mode === 'install' ? undefined : await findNix(ctx.env.PATH ?? '', paths.nixLocations)
  if (nixPath) return { nixPath, installed: false }
  if (options.mode === 'existing') {
    return {
      error:
        `nix: existing, but no nix was found: searched ${searched()}. Install Nix in an ` +
        `earlier step, put it on PATH, or use 'nix: auto' to let the action install Nix ` +
        `${PINNED_NIX_VERSION}.`
    }
  }
  ctx.log.info(
    options.mode === 'install' ? 'nix: install' : `No nix found (searched ${searched()}).`
  )
  const installed = await installNix(
    { nixVersion: options.nixVersion, systemdDir: paths.systemdDir, download: options.download },
    ctx
  )
  progress.changes.push(...installed.changes)
  const installedPath = await findNix('', paths.nixLocations)
  if (!installedPath) {
    return {
      error: `The Nix installer succeeded but no nix appeared in ${paths.nixLocations.join(', ')}.`
    }
  }
  return { nixPath: installedPath, installed: true }
}

/** `nix --version`, once: the version and variant every capability follows from. */
async function probeNix(
  nixPath: string,
  ctx: StageContext
): Promise<ReturnType<typeof parseNixVersion> | { error: string }> {
  const probe = await run(nixPath, ['--version'], { env: allowedEnv(ctx), signal: ctx.signal })
  if (probe.exitCode !== 0) {
    return {
      error: `${nixPath} --version failed (${probe.startError ?? `exit code ${probe.exitCode}`}): ${probe.stderr.trim()}`
    }
  }
  const parsed = parseNixVersion(probe.stdout + '\n' + probe.stderr)
  ctx.log.info(`Using ${nixPath}: ${parsed.variant} ${parsed.version}`)
  return parsed
}

/**
 * The drop-in, and Nix's effective configuration with it. Nix lists kvm by its own default where
 * it can open /dev/kvm read-write, so the drop-in's `extra-system-features = kvm` only matters
 * where the effective features lack it. Only there does setup wait for the KVM check; elsewhere
 * the check goes on beside the build, for the VM.
 */
async function configure(
  options: SetupNixOptions,
  nixPath: string,
  capabilities: NixCapabilities,
  checked: Promise<KvmCheck>,
  progress: Progress,
  ctx: StageContext
): Promise<{ dropIn: DropIn; config: EffectiveConfig; check?: KvmCheck }> {
  const configureWith = async (withKvm: boolean) => {
    const written = await writeDropIn({
      dir: join(ctx.tempDir, 'nix'),
      extraNixConf: options.extraNixConf,
      githubToken: options.githubToken,
      kvm: withKvm,
      env: ctx.env,
      secrets: ctx.secrets
    })
    const read = await effectiveConfig(
      nixPath,
      capabilities.configShow,
      allowedEnv(ctx, written.env)
    )
    return { dropIn: written, config: read }
  }
  let { dropIn, config } = await configureWith(false)
  const features = config.json?.['system-features']?.value
  let check: KvmCheck | undefined
  const kvm = progress.kvm
  if (Array.isArray(features) && features.includes('kvm')) {
    progress.kvm = {
      ...kvm,
      action: `${kvm.action}; system feature kvm listed by Nix itself (the device is read-write for it)`
    }
  } else {
    check = await checked
    if (check.runsGuest) ({ dropIn, config } = await configureWith(true))
    else
      progress.kvm = {
        ...kvm,
        action: `${kvm.action}; system feature kvm not added: ${check.reason}`
      }
  }
  recordDropIn(dropIn, progress, ctx)
  const redacted = config.json ? redactConfig(config.json, ctx.secrets) : undefined
  await writeFile(
    join(progress.dir, 'config.json'),
    ctx.secrets.redact(JSON.stringify(redacted ?? { error: config.error }, null, 2)) + '\n'
  )
  return { dropIn, config, check }
}

/** The drop-in's changes, and the files post deletes. */
function recordDropIn(dropIn: DropIn, progress: Progress, ctx: StageContext): void {
  progress.changes.push(...dropIn.changes)
  if (dropIn.tokenPath) progress.cleanupPaths.push(dropIn.tokenPath)
  progress.cleanupPaths.push(dropIn.confPath)
  if (ctx.env.NIX_CONFIG) {
    progress.changes.push(
      'note: NIX_CONFIG is set and overrides every configuration file, the drop-in too'
    )
  }
}

/** Once: extra-nix-conf settings the daemon will ignore, as it does not trust this user. */
function warnUntrustedSettings(
  extraNixConf: string[],
  config: EffectiveConfig,
  storeMode: NixInstallation['storeMode'],
  progress: Progress,
  ctx: StageContext
): void {
  const trust = { ...currentUserGroups(), ...trustSettings(config.json ?? {}) }
  const warning = untrustedSettingsWarning({ storeMode, ...trust, extraNixConf })
  if (!warning) return
  ctx.log.warning(warning, { title: 'extra-nix-conf ignored by the Nix daemon' })
  progress.changes.push(`note: ${warning}`)
}

/** nix-command and flakes must be on in the effective configuration, whatever else set it. */
function checkFeatures(config: EffectiveConfig, nix: NixInstallation, ctx: StageContext): Outcome {
  if (config.error) {
    ctx.log.warning(`Could not read Nix's effective configuration: ${config.error}`)
  } else if (
    config.features &&
    !['nix-command', 'flakes'].every(f => config.features?.includes(f))
  ) {
    return {
      ok: false,
      nix,
      error:
        `The effective experimental-features are '${config.features.join(' ')}' although the ` +
        `action's drop-in enables nix-command and flakes: something later overrides them ` +
        `(NIX_CONFIG, or an extra-nix-conf line setting experimental-features).`
    }
  }
  return { ok: true, nix }
}

function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** Post step: deletes the token file and the drop-in. Synchronous, and never throws. */
export function cleanupSetup(paths: string[]): void {
  for (const path of paths) {
    try {
      rmSync(path, { force: true })
    } catch {
      // Best effort: post must not fail the job over a temp file.
    }
  }
}
