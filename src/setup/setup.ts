// The setup stage: find (or install) Nix, probe it once, open /dev/kvm, and configure Nix for the
// action through its own drop-in. It never edits the user's nix.conf and never aborts only
// because Nix is already there. Everything it did is recorded under <report>/setup/.
import { constants, rmSync } from 'node:fs'
import { access, mkdir, statfs, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { StageContext } from '../context.js'
import type { NixMode } from '../inputs.js'
import type { KvmCheck, KvmSetup, NixInstallation, SetupResult } from '../model.js'
import { errorMessage, run } from '../process.js'
import { capabilitiesFor, parseNixVersion } from './capabilities.js'
import { installNix, PINNED_NIX_VERSION, type DownloadOptions } from './install.js'
import { effectiveConfig, redactConfig, storeModeFor, writeDropIn } from './setup-config.js'
import { defaultKvmDeviceOptions, ensureKvmDevice, type KvmDeviceOptions } from './setup-kvm.js'

/** Machine locations, injectable so tests never depend on (or touch) the real ones. */
export interface SetupPaths {
  /** Where to look for nix after PATH. */
  nixLocations: string[]
  /** Nix's state directory (NIX_STATE_DIR, else /nix/var/nix). */
  stateDir: string
  daemonSocket: string
  /** Present when systemd runs: a multi-user install. */
  systemdDir: string
}

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

export function defaultSetupPaths(env: NodeJS.ProcessEnv): SetupPaths {
  const home = env.HOME ?? ''
  const stateDir = env.NIX_STATE_DIR || '/nix/var/nix'
  return {
    nixLocations: [
      '/nix/var/nix/profiles/default/bin/nix',
      ...(home ? [join(home, '.nix-profile/bin/nix')] : []),
      '/run/current-system/sw/bin/nix',
      '/usr/bin/nix',
      '/usr/local/bin/nix'
    ],
    stateDir,
    daemonSocket: env.NIX_DAEMON_SOCKET_PATH || join(stateDir, 'daemon-socket/socket'),
    systemdDir: '/run/systemd/system'
  }
}

const can = (path: string, mode: number = constants.F_OK): Promise<boolean> =>
  access(path, mode).then(
    () => true,
    () => false
  )

/** The first executable nix on PATH, then in the usual locations. */
export async function findNix(
  pathVariable: string,
  locations: string[]
): Promise<string | undefined> {
  const onPath = pathVariable
    .split(delimiter)
    .filter(dir => dir.startsWith('/'))
    .map(dir => join(dir, 'nix'))
  for (const candidate of [...onPath, ...locations]) {
    if (await can(candidate, constants.X_OK)) return candidate
  }
  return undefined
}

export async function setupNix(options: SetupNixOptions, ctx: StageContext): Promise<SetupResult> {
  const paths = { ...defaultSetupPaths(ctx.env), ...options.paths }
  const dir = join(ctx.reportDir, 'setup')
  await mkdir(dir, { recursive: true })
  const changes: string[] = []
  const cleanupPaths: string[] = []
  let kvm: KvmSetup = { action: 'not looked at (setup stopped earlier)', deviceUsable: false }
  const finish = async (result: Omit<SetupResult, 'changes' | 'cleanupPaths' | 'kvm'>) => {
    const text = changes.length ? changes.map(c => `- ${c}`).join('\n') : '(nothing changed)'
    await writeFile(join(dir, 'changes.txt'), ctx.secrets.redact(text) + '\n')
    return { ...result, changes, cleanupPaths, kvm }
  }

  try {
    // The KVM device first, then whether KVM really runs a guest: the check (a second or so) runs
    // while Nix is found or installed, and on past setup when Nix does not need its verdict.
    const device = await ensureKvmDevice(
      { ...defaultKvmDeviceOptions(), ...options.kvmDevice },
      ctx.log
    )
    kvm = device.kvm
    changes.push(...device.changes)
    const checked = options.checkKvm()

    const searched = () =>
      `PATH (${ctx.env.PATH || 'empty'}) and ${paths.nixLocations.join(', ') || 'no other location'}`
    let nixPath =
      options.mode === 'install' ? undefined : await findNix(ctx.env.PATH ?? '', paths.nixLocations)
    if (!nixPath && options.mode === 'existing') {
      return await finish({
        ok: false,
        error:
          `nix: existing, but no nix was found: searched ${searched()}. Install Nix in an ` +
          `earlier step, put it on PATH, or use 'nix: auto' to let the action install Nix ` +
          `${PINNED_NIX_VERSION}.`
      })
    }
    let installed: Awaited<ReturnType<typeof installNix>> | undefined
    if (!nixPath) {
      ctx.log.info(
        options.mode === 'install' ? 'nix: install' : `No nix found (searched ${searched()}).`
      )
      installed = await installNix(
        {
          nixVersion: options.nixVersion,
          systemdDir: paths.systemdDir,
          download: options.download
        },
        ctx
      )
      changes.push(...installed.changes)
      nixPath = await findNix('', paths.nixLocations)
      if (!nixPath) {
        return await finish({
          ok: false,
          error: `The Nix installer succeeded but no nix appeared in ${paths.nixLocations.join(', ')}.`
        })
      }
    }

    // Probe once.
    const probe = await run(nixPath, ['--version'], { env: ctx.env })
    if (probe.exitCode !== 0) {
      return await finish({
        ok: false,
        error: `${nixPath} --version failed (${probe.startError ?? `exit code ${probe.exitCode}`}): ${probe.stderr.trim()}`
      })
    }
    const { version, variant } = parseNixVersion(probe.stdout + '\n' + probe.stderr)
    const capabilities = capabilitiesFor(version, variant)
    ctx.log.info(`Using ${nixPath}: ${variant} ${version}`)
    const mismatch = versionMismatch(options.nixVersion, { nixPath, variant, version })
    if (mismatch && !installed) ctx.log.warning(mismatch, { title: 'nix-version not used' })

    // Nix lists kvm by its own default where it can open /dev/kvm read-write, so the drop-in's
    // `extra-system-features = kvm` only matters where the effective features lack it. Only there
    // does setup wait for the KVM check; elsewhere the check goes on beside the build, for the VM.
    const foundNix = nixPath
    const configure = async (withKvm: boolean) => {
      const written = await writeDropIn({
        dir: join(ctx.tempDir, 'nix'),
        extraNixConf: options.extraNixConf,
        githubToken: options.githubToken,
        kvm: withKvm,
        env: ctx.env,
        secrets: ctx.secrets
      })
      const read = await effectiveConfig(foundNix, capabilities.configShow, {
        ...ctx.env,
        ...written.env
      })
      return { dropIn: written, config: read }
    }
    let { dropIn, config } = await configure(false)
    const features = config.json?.['system-features']?.value
    let check: KvmCheck | undefined
    if (Array.isArray(features) && features.includes('kvm')) {
      kvm = {
        ...kvm,
        action: `${kvm.action}; system feature kvm listed by Nix itself (the device is read-write for it)`
      }
    } else {
      check = await checked
      if (check.runsGuest) ({ dropIn, config } = await configure(true))
      else kvm = { ...kvm, action: `${kvm.action}; system feature kvm not added: ${check.reason}` }
    }
    changes.push(...dropIn.changes)
    if (dropIn.tokenPath) cleanupPaths.push(dropIn.tokenPath)
    cleanupPaths.push(dropIn.confPath)
    if (ctx.env.NIX_CONFIG) {
      changes.push(
        'note: NIX_CONFIG is set and overrides every configuration file, the drop-in too'
      )
    }

    const redacted = config.json ? redactConfig(config.json, ctx.secrets) : undefined
    await writeFile(
      join(dir, 'config.json'),
      ctx.secrets.redact(JSON.stringify(redacted ?? { error: config.error }, null, 2)) + '\n'
    )

    const storeSetting = ctx.env.NIX_REMOTE ?? stringValue(config.json?.store?.value) ?? 'auto'
    const writable = await can(paths.stateDir, constants.R_OK | constants.W_OK)
    const store = storeModeFor(storeSetting, writable, await can(paths.daemonSocket))

    if (store.mode === 'daemon') {
      changes.push(
        'note: the daemon builds with its own system-features (kvm when /dev/kvm is read-write for it)'
      )
    }
    const nix: NixInstallation = {
      nixPath,
      version,
      variant,
      capabilities,
      env: dropIn.env,
      storeMode: store.mode
    }
    await writeFile(
      join(dir, 'nix.json'),
      JSON.stringify(
        { ...nix, storeSetting, storeModeReason: store.reason, kvmCheck: check },
        null,
        2
      ) + '\n'
    )
    await writeFile(join(dir, 'disk.txt'), await diskReport(ctx.env))

    if (config.error) {
      ctx.log.warning(`Could not read Nix's effective configuration: ${config.error}`)
    } else if (
      config.features &&
      !['nix-command', 'flakes'].every(f => config.features?.includes(f))
    ) {
      return await finish({
        ok: false,
        nix,
        error:
          `The effective experimental-features are '${config.features.join(' ')}' although the ` +
          `action's drop-in enables nix-command and flakes: something later overrides them ` +
          `(NIX_CONFIG, or an extra-nix-conf line setting experimental-features).`
      })
    }
    return await finish({ ok: true, nix })
  } catch (error) {
    return await finish({ ok: false, error: ctx.secrets.redact(errorMessage(error)) })
  }
}

/** The warning when `nix-version` asks for another version than the Nix found. Pure. */
export function versionMismatch(
  requested: string,
  found: { nixPath: string; variant: string; version: string }
): string | undefined {
  const wanted = requested.split('@')[0]
  if (!wanted || found.version === wanted) return undefined
  return (
    `nix-version asks for Nix ${wanted}, but the Nix already here (${found.nixPath}) is ` +
    `${found.variant} ${found.version}, and the action uses it as it is. Set 'nix: install' to ` +
    `install ${wanted}, or clear nix-version to accept the Nix the runner has.`
  )
}

function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

async function diskReport(env: NodeJS.ProcessEnv): Promise<string> {
  const targets = [
    ['/nix', (await can('/nix')) ? '/nix' : '/'],
    ['TMPDIR', env.TMPDIR || tmpdir()]
  ]
  const lines = ['where\tpath\tfree\ttotal']
  for (const [label, path] of targets) {
    try {
      const stats = await statfs(path)
      const gib = (blocks: number) => `${((blocks * stats.bsize) / 2 ** 30).toFixed(1)} GiB`
      lines.push(`${label}\t${path}\t${gib(stats.bavail)}\t${gib(stats.blocks)}`)
    } catch (error) {
      lines.push(`${label}\t${path}\t(statfs failed: ${errorMessage(error)})`)
    }
  }
  return lines.join('\n') + '\n'
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
