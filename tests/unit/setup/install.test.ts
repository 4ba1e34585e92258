import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { consoleLog } from '../../../src/shared/log.js'
import {
  downloadVerified,
  INSTALLER_SHA256,
  INSTALLER_URL_ENV,
  installerFlags,
  installerUrl,
  installNix,
  PINNED_NIX_VERSION,
  resolveInstallerPin
} from '../../../src/setup/install.js'
import { Secrets } from '../../../src/shared/secrets.js'

// A stand-in installer: records its arguments in $MARKER instead of installing anything.
const SCRIPT = '#!/bin/sh\nprintf "%s\\n" "$@" > "$MARKER"\n'
const SCRIPT_SHA = createHash('sha256').update(SCRIPT).digest('hex')
const VERSION = '2.99.0'

/** Answers each request with the next planned status (the last one repeats). */
let plan: number[] = []
let requests = 0
let server: Server
let base = ''
let work = ''

beforeAll(async () => {
  server = createServer((request, response) => {
    const status = plan[Math.min(requests, plan.length - 1)] ?? 200
    requests++
    if (request.url !== `/nix-${VERSION}/install` || status === 404) {
      response.writeHead(404).end('not found')
    } else if (status === 200) {
      response.writeHead(200, { 'content-type': 'text/plain' }).end(SCRIPT)
    } else if (status === 0) {
      request.socket.destroy() // a connection reset
    } else {
      response.writeHead(status).end('try later')
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>(resolve => server.close(() => resolve())))
afterEach(() => {
  plan = []
  requests = 0
  if (work) rmSync(work, { recursive: true, force: true })
  work = ''
})

function context(): { ctx: StageContext; marker: string; lines: string[] } {
  work = mkdtempSync(join(tmpdir(), 'bivm-install-'))
  mkdirSync(join(work, 'tmp'))
  const marker = join(work, 'marker')
  const lines: string[] = []
  const ctx: StageContext = {
    log: consoleLog(line => lines.push(line)),
    secrets: new Secrets(),
    reportDir: join(work, 'report'),
    tempDir: join(work, 'tmp'),
    env: { ...process.env, [INSTALLER_URL_ENV]: base, MARKER: marker },
    // The fake installer writes MARKER: the installer gets only what it is allowed.
    childEnv: { keyVar: 'PRE_NIXOS_ROOT_KEY', passEnv: ['MARKER'] },
    signal: new AbortController().signal
  }
  return { ctx, marker, lines }
}

const fast = { backoffMs: 5, timeoutMs: 5000 }

describe('resolveInstallerPin', () => {
  it('defaults to the pinned version and its verified hash', () => {
    expect(resolveInstallerPin('')).toEqual({
      version: PINNED_NIX_VERSION,
      sha256: INSTALLER_SHA256[PINNED_NIX_VERSION]
    })
    expect(INSTALLER_SHA256['2.35.2']).toBe(
      '9adda97297d9e8ab360df95c729eabff4f4f93d6db091953c3a68f29e3fb130c'
    )
  })

  it('takes a version with its own hash, and refuses one it has no hash for', () => {
    expect(resolveInstallerPin(`2.30.1@sha256:${'A'.repeat(64)}`)).toEqual({
      version: '2.30.1',
      sha256: 'a'.repeat(64)
    })
    expect(() => resolveInstallerPin('2.30.1')).toThrow(/no verified hash.*2\.30\.1@sha256:/)
    expect(() => resolveInstallerPin('latest')).toThrow(/not a version/)
  })

  it('builds the URL from the override variable or releases.nixos.org', () => {
    expect(installerUrl('2.35.2', {})).toBe('https://releases.nixos.org/nix/nix-2.35.2/install')
    expect(installerUrl('2.35.2', { [INSTALLER_URL_ENV]: 'http://x/' })).toBe(
      'http://x/nix-2.35.2/install'
    )
  })

  it('uses --daemon only where systemd runs', () => {
    expect(installerFlags(true, '/c')).toEqual([
      '--daemon',
      '--yes',
      '--no-channel-add',
      '--nix-extra-conf-file',
      '/c'
    ])
    expect(installerFlags(false, '/c')[0]).toBe('--no-daemon')
  })
})

describe('installNix against a local server', () => {
  it('downloads, verifies and runs the installer', async () => {
    const { ctx, marker } = context()
    const result = await installNix(
      {
        nixVersion: `${VERSION}@sha256:${SCRIPT_SHA}`,
        systemdDir: join(work, 'no-systemd'),
        download: fast
      },
      ctx
    )
    const args = readFileSync(marker, 'utf8').trim().split('\n')
    expect(args.slice(0, 4)).toEqual([
      '--no-daemon',
      '--yes',
      '--no-channel-add',
      '--nix-extra-conf-file'
    ])
    expect(readFileSync(args[4], 'utf8')).toMatch(/^experimental-features = nix-command flakes$/m)
    expect(result.version).toBe(VERSION)
    expect(result.changes[0]).toContain(`sha256 ${SCRIPT_SHA} verified before it ran`)
    expect(requests).toBe(1)
  })

  it('refuses to run an installer whose checksum does not match, naming both hashes', async () => {
    const { ctx, marker } = context()
    const wrong = 'b'.repeat(64)
    await expect(
      installNix({ nixVersion: `${VERSION}@sha256:${wrong}`, download: fast }, ctx)
    ).rejects.toThrow(new RegExp(`expected sha256 ${wrong}, got ${SCRIPT_SHA}.*Refusing to run`))
    expect(existsSync(marker)).toBe(false)
    expect(existsSync(join(ctx.tempDir, 'nix-installer', 'install'))).toBe(false)
    expect(requests).toBe(1)
  })

  it('retries 503 twice, then runs what the third attempt got', async () => {
    const { ctx, marker, lines } = context()
    plan = [503, 503, 200]
    await installNix(
      { nixVersion: `${VERSION}@sha256:${SCRIPT_SHA}`, systemdDir: '/nonexistent', download: fast },
      ctx
    )
    expect(requests).toBe(3)
    expect(existsSync(marker)).toBe(true)
    expect(lines.filter(line => line.includes('attempt'))).toHaveLength(2)
  })

  it('fails fast on a 404', async () => {
    const { ctx, marker } = context()
    plan = [404]
    await expect(
      installNix({ nixVersion: `${VERSION}@sha256:${SCRIPT_SHA}`, download: fast }, ctx)
    ).rejects.toThrow(/HTTP 404.*not retried/)
    expect(requests).toBe(1)
    expect(existsSync(marker)).toBe(false)
  })

  it('retries a reset connection and gives up after three attempts', async () => {
    plan = [0]
    await expect(
      downloadVerified(`${base}/nix-${VERSION}/install`, SCRIPT_SHA, fast)
    ).rejects.toThrow(/after 3 attempts: network error/)
    expect(requests).toBe(3)
  })

  it('reports a failing installer with its last lines', async () => {
    const failing = '#!/bin/sh\necho "no room in /nix" >&2\nexit 3\n'
    const sha = createHash('sha256').update(failing).digest('hex')
    const local = createServer((_, response) => response.end(failing))
    await new Promise<void>(resolve => local.listen(0, '127.0.0.1', resolve))
    try {
      const { ctx } = context()
      ctx.env[INSTALLER_URL_ENV] = `http://127.0.0.1:${(local.address() as AddressInfo).port}`
      await expect(
        installNix({ nixVersion: `${VERSION}@sha256:${sha}`, download: fast }, ctx)
      ).rejects.toThrow(/installer failed \(exit code 3\)[\s\S]*no room in \/nix/)
    } finally {
      await new Promise<void>(resolve => local.close(() => resolve()))
    }
  })
})
