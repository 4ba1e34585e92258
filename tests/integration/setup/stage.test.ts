// setupNix against the real /usr/bin/nix (2.8 here), with an isolated NIX_CONF_DIR and HOME:
// nothing under /etc is read or written.
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { consoleLog } from '../../../src/shared/log.js'
import type { KvmCheck } from '../../../src/model/index.js'
import { cleanupSetup, setupNix, type SetupNixOptions } from '../../../src/setup/stage.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { labNixEnv } from '../../helpers/lab.js'

const TOKEN = 'ghp_integrationTestToken0123456789'
let work = ''
afterEach(() => {
  if (work) rmSync(work, { recursive: true, force: true })
  work = ''
})

/**
 * An isolated Nix configuration. Its system features are set, not Nix's default (which lists kvm
 * whenever /dev/kvm is read-write): without kvm unless `nixListsKvm`.
 */
function lab({ nixListsKvm = false } = {}): { ctx: StageContext; home: string } {
  work = mkdtempSync(join(tmpdir(), 'bivm-setup-'))
  const confDir = join(work, 'etc-nix')
  const home = join(work, 'home')
  mkdirSync(confDir)
  mkdirSync(join(home, '.config/nix'), { recursive: true })
  // The system file enables nothing: flakes can only come from the action's drop-in.
  writeFileSync(
    join(confDir, 'nix.conf'),
    `experimental-features =\nsystem-features = benchmark big-parallel${nixListsKvm ? ' kvm' : ''}\n`
  )
  // The user's own file must still apply.
  writeFileSync(join(home, '.config/nix/nix.conf'), 'keep-outputs = true\n')
  const env = labNixEnv({ NIX_CONF_DIR: confDir, HOME: home, XDG_CONFIG_DIRS: join(work, 'xdg') })
  for (const name of ['NIX_USER_CONF_FILES', 'XDG_CONFIG_HOME', 'NIX_CONFIG', 'NIX_REMOTE']) {
    delete env[name]
  }
  const ctx: StageContext = {
    log: consoleLog(() => {}),
    secrets: new Secrets(),
    reportDir: join(work, 'report'),
    tempDir: join(work, 'tmp'),
    env,
    signal: new AbortController().signal
  }
  return { ctx, home }
}

function options(overrides: Partial<SetupNixOptions> = {}): SetupNixOptions {
  const kvm: KvmCheck = { runsGuest: true, reason: 'a guest ran under KVM', durationMs: 1 }
  return {
    mode: 'auto',
    nixVersion: '',
    extraNixConf: ['max-jobs = 7'],
    githubToken: '',
    checkKvm: async () => kvm,
    // The real device may be looked at, but a rule would only ever go under the temp dir.
    kvmDevice: { rulePath: join(work, 'rules.d/99-boot-image-vm-kvm.rules'), udevadm: 'true' },
    ...overrides
  }
}

function nix(args: string[], env: NodeJS.ProcessEnv): string {
  const result = spawnSync('/usr/bin/nix', args, { env, encoding: 'utf8' })
  expect(result.status, result.stderr).toBe(0)
  return result.stdout
}

const read = (path: string): string => readFileSync(path, 'utf8')

describe('setupNix with the real nix', () => {
  it('finds nix in auto mode, probes 2.8 once, and configures it through the drop-in', async () => {
    const { ctx, home } = lab()
    const result = await setupNix(options(), ctx)
    expect(result.error).toBeUndefined()
    expect(result.ok).toBe(true)
    expect(result.nix).toMatchObject({
      version: '2.8.0',
      variant: 'nix',
      capabilities: {
        printOutPaths: false,
        configShow: ['show-config'],
        derivationShow: ['show-derivation'],
        storeInfo: ['store', 'ping'],
        jsonLogPath: false
      }
    })
    expect(result.nix?.nixPath).toMatch(/\/nix$/)
    const dropIn = join(ctx.tempDir, 'nix', 'nix.conf')
    expect(result.nix?.env).toEqual({
      NIX_USER_CONF_FILES: `${dropIn}:${join(home, '.config/nix/nix.conf')}`
    })
    expect(read(dropIn)).toMatch(/^extra-experimental-features = nix-command flakes$/m)
    expect(read(dropIn)).toMatch(/^extra-system-features = kvm$/m)
    expect(read(dropIn)).not.toMatch(/accept-flake-config/)
    expect(result.cleanupPaths).toEqual([dropIn])

    // What nix itself now sees with the returned variables.
    const env = { ...ctx.env, ...result.nix?.env }
    const json = JSON.parse(nix(['show-config', '--json'], env)) as Record<
      string,
      { value: unknown }
    >
    expect(json['max-jobs'].value).toBe(7)
    expect(json['keep-outputs'].value).toBe(true)
    const text = nix(['show-config'], env)
    expect(text).toMatch(/^experimental-features = .*\bflakes\b/m)
    expect(text).toMatch(/^experimental-features = .*\bnix-command\b/m)
    expect(text).toMatch(/^system-features = .*\bkvm\b/m)

    // The report files.
    const dir = join(ctx.reportDir, 'setup')
    expect(readdirSync(dir).sort()).toEqual(['changes.txt', 'config.json', 'disk.txt', 'nix.json'])
    const config = JSON.parse(read(join(dir, 'config.json')))
    expect(config['experimental-features'].value).toEqual(
      expect.arrayContaining(['flakes', 'nix-command'])
    )
    expect(config['max-jobs'].value).toBe(7)
    const recorded = JSON.parse(read(join(dir, 'nix.json')))
    expect(recorded).toMatchObject({ version: '2.8.0', storeMode: result.nix?.storeMode })
    expect(recorded.storeModeReason).toMatch(/store 'auto'/)
    expect(read(join(dir, 'disk.txt'))).toMatch(/^TMPDIR\t\S+\t[\d.]+ GiB\t[\d.]+ GiB$/m)
    expect(read(join(dir, 'changes.txt'))).toContain('NIX_USER_CONF_FILES=')
  })

  it('is idempotent: a second run writes the same configuration', async () => {
    const { ctx } = lab()
    const first = await setupNix(options(), ctx)
    const dropIn = read(join(ctx.tempDir, 'nix', 'nix.conf'))
    const second = await setupNix(options(), ctx)
    expect(second.ok).toBe(true)
    expect(second.nix?.env).toEqual(first.nix?.env)
    expect(read(join(ctx.tempDir, 'nix', 'nix.conf'))).toBe(dropIn)
  })

  it('keeps the token only in a 0600 file, and out of every report file', async () => {
    const { ctx } = lab()
    const result = await setupNix(options({ githubToken: TOKEN }), ctx)
    expect(result.ok).toBe(true)
    const tokenFile = join(ctx.tempDir, 'nix', 'access-tokens.conf')
    expect(read(tokenFile)).toBe(`access-tokens = github.com=${TOKEN}\n`)
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600)
    expect(result.cleanupPaths).toContain(tokenFile)
    expect(ctx.secrets.values()).toContain(TOKEN)
    const dropIn = read(join(ctx.tempDir, 'nix', 'nix.conf'))
    expect(dropIn).toContain(`!include ${tokenFile}`)
    expect(dropIn).not.toContain(TOKEN)

    // Nix does read it …
    const env = { ...ctx.env, ...result.nix?.env }
    expect(nix(['show-config'], env)).toContain(`access-tokens = github.com=${TOKEN}`)
    // … and the report never holds it.
    const dir = join(ctx.reportDir, 'setup')
    for (const file of readdirSync(dir)) expect(read(join(dir, file))).not.toContain(TOKEN)
    expect(JSON.stringify(result)).not.toContain(TOKEN)
    const config = JSON.parse(read(join(dir, 'config.json')))
    expect(config['access-tokens'].value).toEqual({ 'github.com': '***' })

    cleanupSetup(result.cleanupPaths)
    expect(existsSync(tokenFile)).toBe(false)
    expect(() => cleanupSetup(['/nonexistent/file', ...result.cleanupPaths])).not.toThrow()
  })

  it('adds no kvm feature when KVM did not run a guest, and says why', async () => {
    const { ctx } = lab()
    const result = await setupNix(
      options({
        checkKvm: async () => ({ runsGuest: false, reason: 'KVM internal error', durationMs: 5 }),
        kvmDevice: { devicePath: join(work, 'no-kvm') }
      }),
      ctx
    )
    expect(result.ok).toBe(true)
    expect(read(join(ctx.tempDir, 'nix', 'nix.conf'))).not.toMatch(/system-features/)
    expect(result.kvm.deviceUsable).toBe(false)
    expect(result.kvm.action).toMatch(
      /no .*no-kvm.*system feature kvm not added: KVM internal error/
    )
  })

  it('leaves the KVM check running where Nix lists kvm by itself', async () => {
    const { ctx } = lab({ nixListsKvm: true })
    let checked = false
    const result = await setupNix(
      options({
        checkKvm: () =>
          new Promise<KvmCheck>(() => {
            checked = true
          })
      }),
      ctx
    )
    expect(checked).toBe(true)
    expect(result.ok).toBe(true)
    expect(read(join(ctx.tempDir, 'nix', 'nix.conf'))).not.toMatch(/system-features/)
    expect(result.kvm.action).toMatch(/system feature kvm listed by Nix itself/)
    const env = { ...ctx.env, ...result.nix?.env }
    expect(nix(['show-config'], env)).toMatch(/^system-features = .*\bkvm\b/m)
    expect(JSON.parse(read(join(ctx.reportDir, 'setup', 'nix.json')))).not.toHaveProperty(
      'kvmCheck'
    )
  })

  it("fails clearly in 'existing' mode when no nix is anywhere", async () => {
    const { ctx } = lab()
    ctx.env.PATH = ''
    const result = await setupNix(options({ mode: 'existing', paths: { nixLocations: [] } }), ctx)
    expect(result.ok).toBe(false)
    expect(result.nix).toBeUndefined()
    expect(result.error).toMatch(/nix: existing, but no nix was found: searched PATH \(empty\)/)
    expect(result.error).toMatch(/nix: auto/)
    expect(existsSync(join(ctx.reportDir, 'setup', 'changes.txt'))).toBe(true)
  })
})
