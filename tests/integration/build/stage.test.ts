// buildImage with real Nix (whatever /usr/bin/nix is: 2.8 on Debian 12, 2.26 on Debian 13) against
// the offline fixture flake: failures are blamed on the leaves, logs are whole, ISOs are found.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import type { Log } from '../../../src/shared/log.js'
import type { NixInstallation } from '../../../src/model/index.js'
import { buildImage, type BuildRequest } from '../../../src/build/stage.js'
import { capabilitiesFor, parseNixVersion } from '../../../src/setup/capabilities.js'
import { derivationName } from '../../../src/build/failures.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { LAB_CHILD_ENV, labNixEnv, makeFixtureFlake, makeKeyPair } from '../../helpers/lab.js'

const NIX = '/usr/bin/nix'

function installation(): NixInstallation {
  const { version, variant } = parseNixVersion(
    spawnSync(NIX, ['--version'], { encoding: 'utf8' }).stdout
  )
  return {
    nixPath: NIX,
    version,
    variant,
    capabilities: capabilitiesFor(version, variant),
    env: {},
    storeMode: 'in-process'
  }
}

interface Said {
  level: string
  message: string
  title?: string
}

function context(secrets = new Secrets()): { ctx: StageContext; said: Said[] } {
  const said: Said[] = []
  const log: Log = {
    info: message => said.push({ level: 'info', message }),
    echo: (source, text) => said.push({ level: 'info', message: `[${source}] ${text}` }),
    debug: () => undefined,
    warning: (message, a) => said.push({ level: 'warning', message, title: a?.title }),
    error: (message, a) => said.push({ level: 'error', message, title: a?.title }),
    group: (_name, fn) => fn()
  }
  const reportDir = mkdtempSync(join(tmpdir(), 'boot-image-vm-report-'))
  const ctx: StageContext = {
    log,
    secrets,
    reportDir,
    tempDir: mkdtempSync(join(tmpdir(), 'boot-image-vm-temp-')),
    env: labNixEnv(),
    childEnv: LAB_CHILD_ENV,
    signal: new AbortController().signal
  }
  return { ctx, said }
}

let nix: NixInstallation
let flake: string
let keyEnv: Record<string, string>

beforeAll(() => {
  nix = installation()
  flake = makeFixtureFlake()
  keyEnv = { PRE_NIXOS_ROOT_KEY: makeKeyPair().publicKeyPath }
})

const request = (ctx: StageContext, image: string, extra: Partial<BuildRequest> = {}) => ({
  flake,
  image,
  context: 'host' as const,
  env: keyEnv,
  dir: join(ctx.reportDir, 'build'),
  ...extra
})
const read = (ctx: StageContext, path: string): string =>
  readFileSync(join(ctx.reportDir, path), 'utf8')
const lines40 = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`)

describe(`buildImage with real Nix (${NIX})`, () => {
  it('failingLeaf: the leaf is the root failure, with its whole log from nix log', async () => {
    const { ctx, said } = context()
    const result = await buildImage(nix, request(ctx, 'failingLeaf'), ctx)
    expect(result.status).toBe('build-failed')
    expect(result.drvPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-broken-leaf\.drv$/)
    expect(result.failures).toHaveLength(1)
    const [failure] = result.failures
    expect(failure).toMatchObject({
      drv: result.drvPath,
      name: 'broken-leaf',
      reason: 'builder failed with exit code 1',
      exitCode: 1,
      log: 'build/failed/broken-leaf.log'
    })
    const log = read(ctx, failure.log)
    for (const line of lines40) expect(log.split('\n')).toContain(line)
    expect(log).toContain('broken-leaf: stderr line 40')
    expect(failure.tail).toHaveLength(25)
    expect(failure.tail.at(-1)).toBe(
      'error: broken-leaf: deliberate build failure (boot-image-vm fixture)'
    )
    expect(result.dependents).toEqual([])
    const drvJson = JSON.parse(read(ctx, 'build/failed/broken-leaf.drv.json'))
    // Keyed by the store path (newer Nix may drop the /nix/store/ prefix).
    const drvName = result.drvPath!.slice('/nix/store/'.length)
    expect(Object.keys(drvJson).map(key => key.replace('/nix/store/', ''))).toEqual([drvName])
    // Raw events, JSON only, and the human log with the derivation's name on each line.
    const events = read(ctx, 'build/events.jsonl').trim().split('\n')
    expect(events.length).toBeGreaterThan(40)
    for (const event of events) expect(() => JSON.parse(event)).not.toThrow()
    const human = read(ctx, 'build/build.log')
    expect(human).toContain('broken-leaf> line 40')
    expect(human).toMatch(/error: builder for '.*-broken-leaf\.drv' failed with exit code 1/)
    expect(said).toContainEqual(
      expect.objectContaining({
        level: 'error',
        title: 'build failed: broken-leaf — builder failed with exit code 1'
      })
    )
    expect(said.some(s => s.level === 'info' && /^\[nix\] \[\d+\/\d+ built/.test(s.message))).toBe(
      true
    )
  })

  it('failingDeep: the leaf two levels down is the root; the parents are dependents', async () => {
    const { ctx } = context()
    const result = await buildImage(nix, request(ctx, 'failingDeep'), ctx)
    expect(result.status).toBe('build-failed')
    expect(result.failures.map(f => f.name)).toEqual(['broken-leaf'])
    expect(result.dependents.map(derivationName).sort()).toEqual([
      'boot-image-vm-deep.iso',
      'boot-image-vm-rootfs'
    ])
    expect(result.dependents).toContain(result.drvPath)
    expect(read(ctx, result.failures[0].log)).toContain('line 40')
  })

  it('failingTwo with --keep-going: both leaves, never the parent', async () => {
    const { ctx, said } = context()
    const result = await buildImage(nix, request(ctx, 'failingTwo'), ctx)
    expect(result.status).toBe('build-failed')
    expect(result.failures.map(f => f.name).sort()).toEqual(['broken-alpha', 'broken-beta'])
    expect(result.dependents.map(derivationName)).toEqual(['boot-image-vm-two.iso'])
    for (const failure of result.failures) {
      expect(read(ctx, failure.log)).toContain(`${failure.name}: stderr line 40`)
      expect(existsSync(join(ctx.reportDir, `build/failed/${failure.name}.drv.json`))).toBe(true)
    }
    expect(said.filter(s => s.title?.startsWith('build failed:'))).toHaveLength(2)
  })

  it("evalError: eval-failed with the throw's message, nothing built", async () => {
    const { ctx } = context()
    const result = await buildImage(nix, request(ctx, 'evalError'), ctx)
    expect(result.status).toBe('eval-failed')
    expect(result.error).toContain('boot-image-vm fixture: deliberate evaluation error')
    expect(result.failures).toEqual([])
    expect(existsSync(join(ctx.reportDir, 'build/events.jsonl'))).toBe(false)
  })

  it('a missing attribute: eval-failed naming the attribute', async () => {
    const { ctx } = context()
    const result = await buildImage(nix, request(ctx, 'noSuchImage'), ctx)
    expect(result.status).toBe('eval-failed')
    expect(result.error).toMatch(/does not provide attribute .*noSuchImage/)
  })

  it("an unset key (PRE_NIXOS_ROOT_KEY empty): eval-failed with the fixture's message", async () => {
    const { ctx } = context()
    const result = await buildImage(nix, request(ctx, 'bootImage', { env: {} }), ctx)
    expect(result.status).toBe('eval-failed')
    expect(result.error).toContain('PRE_NIXOS_ROOT_KEY is empty')
  })

  // The machine's failures (issue 13), made for real: a daemon store with no daemon behind it.
  // Before the change these were eval-failed, blaming the flake.
  const noDaemon = (ctx: StageContext) => ({
    ...keyEnv,
    NIX_REMOTE: 'daemon',
    NIX_DAEMON_SOCKET_PATH: join(ctx.tempDir, 'no-daemon.sock')
  })

  it('no daemon at evaluation: build-failed saying the machine lacks a running daemon', async () => {
    const { ctx, said } = context()
    const result = await buildImage(nix, request(ctx, 'bootImage', { env: noDaemon(ctx) }), ctx)
    expect(result.status).toBe('build-failed')
    expect(result.error).toMatch(/^This machine could not build .*lacks a running Nix daemon/)
    expect(result.error).toContain(join(ctx.tempDir, 'no-daemon.sock'))
    expect(said.find(s => s.level === 'error')?.title).toMatch(/this machine could not build/)
  })

  it('no daemon once evaluated (the build step): build-failed, not eval-failed', async () => {
    const { ctx } = context()
    const drvPath = spawnSync(NIX, ['eval', '--raw', '--impure', `${flake}#bootImage.drvPath`], {
      encoding: 'utf8',
      env: { ...ctx.env, ...keyEnv }
    }).stdout.trim()
    expect(drvPath).toMatch(/\.drv$/)
    const result = await buildImage(
      nix,
      request(ctx, 'bootImage', { env: noDaemon(ctx), drvPath }),
      ctx
    )
    expect(result).toMatchObject({ status: 'build-failed', drvPath, failures: [] })
    expect(result.error).toMatch(/lacks a running Nix daemon.*No such file or directory/)
  })

  // Issue 17: a builders entry whose builder nothing can reach (ssh to a port nothing listens
  // on), for real. Before, max-jobs 0 read as eval-failed (no build started, one error line) and
  // a feature only the builder has blamed the derivation for lacking it.
  const unreachable = (features: string, extraConf = '') => ({
    ...keyEnv,
    BOOT_IMAGE_VM_REMOTE_NONCE: `unreachable-${process.pid}-${Date.now()}`,
    NIX_SSHOPTS: '-p 9 -o HostName=127.0.0.1 -o ConnectTimeout=5 -o BatchMode=yes',
    NIX_CONFIG: `builders = ssh-ng://root@biv-nowhere x86_64-linux - 1 1 ${features}\n${extraConf}`
  })

  it.each([
    ['max-jobs 0', '-', 'max-jobs = 0'],
    ['a feature only the builder has', 'boot-image-vm-remote', '']
  ])(
    'a builder nobody reaches (%s): the machine’s failure naming it',
    async (_, features, conf) => {
      const { ctx, said } = context()
      const env = unreachable(features, conf)
      const result = await buildImage(nix, request(ctx, 'remoteBuiltImage', { env }), ctx)
      expect(result.status).toBe('build-failed')
      expect(result.failures).toEqual([])
      expect(result.error).toMatch(
        /^This machine could not build .*the builder ssh-ng:\/\/root@biv-nowhere could not be reached/
      )
      expect(result.error).toContain('ssh said: ssh: connect to host 127.0.0.1 port 9')
      expect(said.find(s => s.level === 'error')?.title).toMatch(/this machine could not build/)
    }
  )

  it('notAnIso: build-failed naming the output and what it holds', async () => {
    const { ctx } = context()
    const result = await buildImage(nix, request(ctx, 'notAnIso'), ctx)
    expect(result.status).toBe('build-failed')
    expect(result.outPath).toMatch(/-boot-image-vm-not-an-iso$/)
    expect(result.error).toContain(`${result.outPath}/iso/*.iso`)
    expect(result.error).toContain('share/README')
    expect(result.failures).toEqual([])
  })

  it('bootImage: passed, with the ISO, the out path and the drv', async () => {
    const { ctx } = context()
    const result = await buildImage(nix, request(ctx, 'bootImage'), ctx)
    expect(result).toMatchObject({
      context: 'host',
      status: 'passed',
      failures: [],
      dependents: []
    })
    expect(result.drvPath).toMatch(/-boot-image-vm-fixture\.iso\.drv$/)
    expect(result.outPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-boot-image-vm-fixture\.iso$/)
    expect(result.isoPath).toBe(`${result.outPath}/iso/boot-image-vm-fixture.iso`)
    expect(existsSync(result.isoPath!)).toBe(true)
  })

  it('devshell context: builds inside nix develop, and blames the leaf there too', async () => {
    const { ctx } = context()
    const inShell = { context: 'devshell' as const, devshell: 'bootImageTest' }
    const passed = await buildImage(nix, request(ctx, 'bootImage', inShell), ctx)
    expect(passed).toMatchObject({ context: 'devshell', status: 'passed' })
    expect(passed.isoPath).toMatch(/\/iso\/boot-image-vm-fixture\.iso$/)
    const failed = await buildImage(nix, request(ctx, 'failingDeep', inShell), ctx)
    expect(failed.status).toBe('build-failed')
    expect(failed.failures.map(f => f.name)).toEqual(['broken-leaf'])
  })

  it('a devshell that does not exist: eval-failed naming it, nothing built', async () => {
    const { ctx } = context()
    const inShell = { context: 'devshell' as const, devshell: 'noSuchShell' }
    const result = await buildImage(nix, request(ctx, 'bootImage', inShell), ctx)
    expect(result.status).toBe('eval-failed')
    expect(result.error).toMatch(/does not provide attribute .*noSuchShell/)
  })

  it('secrets never reach the files', async () => {
    const secrets = new Secrets()
    secrets.add('broken-leaf: stderr line 20')
    const { ctx } = context(secrets)
    const result = await buildImage(nix, request(ctx, 'failingLeaf'), ctx)
    for (const file of ['build/build.log', 'build/events.jsonl', result.failures[0].log]) {
      const text = read(ctx, file)
      expect(text, file).not.toContain('broken-leaf: stderr line 20')
      expect(text, file).toContain('***')
    }
  })
})
