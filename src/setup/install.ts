// Installs Nix with the official installer script for a pinned version, verified before it runs.
// The script itself checks the SHA-256 of the binary tarball it downloads, so pinning the script's
// hash pins the whole installation.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import type { StageContext } from '../shared/context.js'
import { errorMessage, run } from '../shared/process.js'
import { allowedEnv } from '../shared/child-env.js'

/**
 * The Nix version installed when `nix-version` is empty, and the SHA-256 of its installer,
 * https://releases.nixos.org/nix/nix-2.35.2/install (4499 bytes). Checked against two
 * independent public sources that agree byte for byte: the pinned default of
 * pr0d1r2/claudinix's setup.sh, and the sha256 of a verbatim public copy of that installer
 * (its Linux x86_64 tarball hash is 0c3960a9…cb1158).
 */
export const PINNED_NIX_VERSION = '2.35.2'

/** Installer hashes this action knows; other versions need `<version>@sha256:<hex>`. */
export const INSTALLER_SHA256: Readonly<Record<string, string>> = {
  '2.35.2': '9adda97297d9e8ab360df95c729eabff4f4f93d6db091953c3a68f29e3fb130c'
}

/** Overrides https://releases.nixos.org/nix (a mirror, or a local server in tests). */
export const INSTALLER_URL_ENV = 'BOOT_IMAGE_VM_NIX_INSTALLER_URL'
export const DEFAULT_INSTALLER_BASE = 'https://releases.nixos.org/nix'

export interface InstallerPin {
  version: string
  sha256: string
}

/** Reads the `nix-version` input: '' (the pinned version), a known version, or `<v>@sha256:<hex>`. */
export function resolveInstallerPin(requested: string): InstallerPin {
  const text = requested.trim()
  if (!text) return { version: PINNED_NIX_VERSION, sha256: INSTALLER_SHA256[PINNED_NIX_VERSION] }
  const match = /^(?<version>\d+\.\d+\.\d+)(?:@sha256:(?<sha256>[0-9a-fA-F]{64}))?$/.exec(text)
  if (!match?.groups) {
    throw new Error(
      `nix-version '${text}' is not a version like '2.35.2' or '2.35.2@sha256:<64 hex digits>'.`
    )
  }
  const { version, sha256 } = match.groups
  if (sha256) return { version, sha256: sha256.toLowerCase() }
  const known = INSTALLER_SHA256[version]
  if (known) return { version, sha256: known }
  throw new Error(
    `nix-version '${version}': this action has no verified hash for that installer ` +
      `(it knows ${Object.keys(INSTALLER_SHA256).join(', ')}). Give one as ` +
      `'${version}@sha256:<sha256 of ${DEFAULT_INSTALLER_BASE}/nix-${version}/install>'.`
  )
}

export function installerUrl(version: string, env: NodeJS.ProcessEnv): string {
  const base = (env[INSTALLER_URL_ENV] || DEFAULT_INSTALLER_BASE).replace(/\/+$/, '')
  return `${base}/nix-${version}/install`
}

export interface DownloadOptions {
  /** Attempts in all (default 3). */
  attempts?: number
  /** The wait before the second attempt; doubles after each (default 2000 ms). */
  backoffMs?: number
  /** Per attempt (default 60 s). */
  timeoutMs?: number
  signal?: AbortSignal
  onRetry?: (message: string) => void
}

class FinalDownloadError extends Error {}

/**
 * Downloads `url` and checks its SHA-256 before anything is written. Retries 5xx answers,
 * network errors and timeouts (up to `attempts`, with backoff); a 4xx answer is final.
 * Throws on a checksum mismatch, naming both hashes. Returns the verified bytes.
 */
export async function downloadVerified(
  url: string,
  expectedSha256: string,
  options: DownloadOptions = {}
): Promise<Buffer> {
  const attempts = options.attempts ?? 3
  let wait = options.backoffMs ?? 2000
  let lastError = ''
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const body = await fetchOnce(url, options)
      const actual = createHash('sha256').update(body).digest('hex')
      if (actual !== expectedSha256.toLowerCase()) {
        throw new FinalDownloadError(
          `Checksum mismatch for ${url}: expected sha256 ${expectedSha256.toLowerCase()}, ` +
            `got ${actual}. Refusing to run it.`
        )
      }
      return body
    } catch (error) {
      if (error instanceof FinalDownloadError || options.signal?.aborted) throw error
      lastError = errorMessage(error)
      if (attempt === attempts) break
      options.onRetry?.(
        `Downloading ${url} failed (${lastError}); attempt ${attempt + 1} of ${attempts} in ${wait} ms.`
      )
      await delay(wait, options.signal)
      wait *= 2
    }
  }
  throw new Error(`Could not download ${url} after ${attempts} attempts: ${lastError}`)
}

async function fetchOnce(url: string, options: DownloadOptions): Promise<Buffer> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  let response: Response
  try {
    response = await fetch(url, { signal, redirect: 'follow' })
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    const detail = cause?.code ?? cause?.message ?? errorMessage(error)
    throw new Error(timeout.aborted ? 'timed out' : `network error: ${detail}`)
  }
  if (response.status >= 400 && response.status < 500) {
    throw new FinalDownloadError(
      `Could not download ${url}: HTTP ${response.status} ${response.statusText} (not retried).`
    )
  }
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`)
  return Buffer.from(await response.arrayBuffer())
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(new Error('cancelled'))
      },
      { once: true }
    )
  })
}

export interface InstallNixOptions {
  /** The `nix-version` input ('' for the pinned version). */
  nixVersion: string
  /** Where systemd keeps its runtime state: present means a multi-user (daemon) install. */
  systemdDir?: string
  download?: DownloadOptions
}

export interface InstallNixResult {
  version: string
  flags: string[]
  changes: string[]
}

/** The installer's flags: a daemon install where systemd runs, else a single-user one. */
export function installerFlags(daemon: boolean, extraConfFile: string): string[] {
  const mode = daemon ? '--daemon' : '--no-daemon'
  return [mode, '--yes', '--no-channel-add', '--nix-extra-conf-file', extraConfFile]
}

/**
 * Downloads, verifies and runs the installer. Throws with the installer's own last lines when it
 * fails. The system nix.conf it writes gets only what a fresh CI install needs.
 */
export async function installNix(
  options: InstallNixOptions,
  ctx: StageContext
): Promise<InstallNixResult> {
  const pin = resolveInstallerPin(options.nixVersion)
  const url = installerUrl(pin.version, ctx.env)
  const dir = join(ctx.tempDir, 'nix-installer')
  await mkdir(dir, { recursive: true })
  ctx.log.info(`Downloading the Nix ${pin.version} installer from ${url}`)
  const script = await downloadVerified(url, pin.sha256, {
    signal: ctx.signal,
    onRetry: message => ctx.log.warning(message),
    ...options.download
  })
  const scriptPath = join(dir, 'install')
  await writeFile(scriptPath, script, { mode: 0o700 })
  await chmod(scriptPath, 0o700)

  const user = ctx.env.USER || safeUserName()
  const extraConf = join(dir, 'extra.conf')
  await writeFile(
    extraConf,
    [
      'experimental-features = nix-command flakes',
      'max-jobs = auto',
      `trusted-users = root${user && user !== 'root' ? ' ' + user : ''}`,
      ''
    ].join('\n')
  )
  const daemon = existsSync(options.systemdDir ?? '/run/systemd/system')
  const flags = installerFlags(daemon, extraConf)
  ctx.log.info(
    `Running the verified installer (sha256 ${pin.sha256}): sh install ${flags.join(' ')}`
  )
  const tail: string[] = []
  const keep = (line: string): void => {
    ctx.log.echo('installer', line)
    tail.push(line)
    if (tail.length > 20) tail.shift()
  }
  const result = await run('sh', [scriptPath, ...flags], {
    env: allowedEnv(ctx, { USER: user || 'root' }),
    signal: ctx.signal,
    onStdoutLine: keep,
    onStderrLine: keep
  })
  if (result.exitCode !== 0) {
    const why = result.startError ?? `exit code ${result.exitCode}`
    throw new Error(
      `The Nix ${pin.version} installer failed (${why}). Its last lines:\n${tail.join('\n')}`
    )
  }
  return {
    version: pin.version,
    flags,
    changes: [
      `installed Nix ${pin.version} (${daemon ? 'multi-user, with the daemon' : 'single-user'}) ` +
        `with the installer from ${url}, sha256 ${pin.sha256} verified before it ran`,
      `the installer wrote the system nix.conf with: experimental-features = nix-command flakes, ` +
        `max-jobs = auto, trusted-users = root${user && user !== 'root' ? ' ' + user : ''}`
    ]
  }
}

function safeUserName(): string {
  try {
    return userInfo().username
  } catch {
    return ''
  }
}
