// The env-diff stage against real Nix and the offline fixture flake's `bootImageTest` devshell.
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import type { NixInstallation } from '../../../src/model/index.js'
import { capabilitiesFor, parseNixVersion } from '../../../src/setup/capabilities.js'
import { diffBuildEnvironment } from '../../../src/env/stage.js'
import type { EnvDiffReport } from '../../../src/env/types.js'
import { isPseudoVariable, SUN_PATH_MAX } from '../../../src/env/env-verdicts.js'
import { Secrets } from '../../../src/shared/secrets.js'
import {
  LAB_CHILD_ENV,
  labNixEnv,
  LAB_NIX_CONF_DIR,
  makeFixtureFlake,
  makeKeyPair
} from '../../helpers/lab.js'

const NIX = '/usr/bin/nix'
const CANARY_TOKEN = 'canary-token-7f3a9c1e55d04b2e'
const CANARY_PASSWORD = 'canary-password-b81d22e0aa'
const REGISTERED = 'registered-canary-0c4f9e7d31'

function installation(): NixInstallation {
  const { version, variant } = parseNixVersion(spawnSync(NIX, ['--version']).stdout.toString())
  return {
    nixPath: NIX,
    version,
    variant,
    capabilities: capabilitiesFor(version, variant),
    env: { NIX_CONF_DIR: LAB_NIX_CONF_DIR },
    storeMode: 'in-process'
  }
}

const scratch = mkdtempSync('/tmp/biv-env-test-')
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function context(name: string, tmpdir: string): StageContext & { lines: string[] } {
  const root = join(scratch, name)
  mkdirSync(tmpdir, { recursive: true })
  const secrets = new Secrets()
  secrets.add(REGISTERED)
  const lines: string[] = []
  const log = {
    info: (m: string) => lines.push(m),
    echo: (source: string, m: string) => lines.push(`[${source}] ${m}`),
    debug: (m: string) => lines.push(m),
    warning: (m: string) => lines.push(m),
    error: (m: string) => lines.push(m),
    group: <T>(_: string, fn: () => Promise<T>) => fn()
  }
  const env = labNixEnv({
    TMPDIR: tmpdir,
    MY_API_TOKEN: CANARY_TOKEN,
    DB_PASSWORD: CANARY_PASSWORD,
    HARMLESS_LOOKING: `prefix-${REGISTERED}-suffix`
  })
  return {
    log,
    lines,
    secrets,
    reportDir: join(root, 'report'),
    tempDir: join(root, 'temp'),
    env,
    childEnv: LAB_CHILD_ENV,
    signal: new AbortController().signal
  }
}

const readReport = (ctx: StageContext) =>
  JSON.parse(readFileSync(join(ctx.reportDir, 'env', 'diff.json'), 'utf8')) as EnvDiffReport

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter(
    name => name.startsWith('nix-shell.') || name.startsWith('nix-build-')
  )
}

describe('diffBuildEnvironment with real Nix', () => {
  const nix = installation()
  let flake: string
  let keyEnv: Record<string, string>
  beforeAll(() => {
    flake = makeFixtureFlake()
    keyEnv = { PRE_NIXOS_ROOT_KEY: makeKeyPair().publicKeyPath }
  })

  it('captures both contexts, explains TMPDIR with numbers, leaves nothing behind', async () => {
    const userTmp = join(scratch, 'tmp')
    const ctx = context('plain', userTmp)
    const request = { flake, image: 'bootImage', devshell: 'bootImageTest', keyEnv }
    // Cold: the first nix develop builds the shell's -env derivation and copies the flake.
    const cold = performance.now()
    await diffBuildEnvironment(nix, request, context('cold', join(scratch, 'cold-tmp')))
    console.log(
      `env capture + diff (nix ${nix.version}, cold): ${(performance.now() - cold).toFixed(0)} ms`
    )
    const started = performance.now()
    const result = await diffBuildEnvironment(nix, request, ctx)
    const elapsed = performance.now() - started
    console.log(`env capture + diff (nix ${nix.version}, warm): ${elapsed.toFixed(0)} ms`)

    expect(result.ok, result.error).toBe(true)
    const report = readReport(ctx)
    const { host, devshell } = report.contexts
    expect(host.drvPath).toMatch(/^\/nix\/store\/\w{32}-boot-image-vm-fixture\.iso\.drv$/)
    expect(devshell.drvPath).toBe(host.drvPath)
    expect(result.verdicts).toContain(`same .drv in both contexts: ${host.drvPath}`)
    expect(devshell.nix.version).toBe(nix.version)
    expect(host.settings.sandbox).toBe('false')
    expect(devshell.settings['experimental-features']).toContain('flakes')

    // The devshell's TMPDIR, as the user would have it: their TMPDIR plus nix-shell.XXXXXX.
    expect(devshell.tmpdir.path).toMatch(new RegExp(`^${userTmp}/nix-shell\\.\\w{6}$`))
    const suffix = '/nix-build-boot-image-vm-fixture.iso.drv-0/'
    const expected = (dir: string) => SUN_PATH_MAX - 1 - Buffer.byteLength(dir + suffix)
    expect(host.tmpdir.socketHeadroom).toBe(expected(userTmp))
    expect(devshell.tmpdir.socketHeadroom).toBe(expected(devshell.tmpdir.path))
    const tmpVerdict = result.verdicts.find(v => v.startsWith('builds in the devshell run'))
    expect(tmpVerdict).toBe(
      `builds in the devshell run in-process under ${devshell.tmpdir.path}/, leaving ` +
        `${devshell.tmpdir.socketHeadroom} bytes for socket paths (host: ${host.tmpdir.socketHeadroom})`
    )

    const names = result.differences.map(d => d.name)
    expect(names).toEqual(expect.arrayContaining(['TMPDIR', 'IN_NIX_SHELL', 'shellHook']))
    expect(result.differences.find(d => d.name === 'TMPDIR')?.likelihood).toBe('high')
    expect(result.differences.find(d => d.name === 'BOOT_IMAGE_TEST_SHELL_HOOK')?.kind).toBe(
      'added'
    )

    // Nothing left behind: no nix-shell.* in the user's TMPDIR, no scratch under the temp dir.
    expect(leftovers(userTmp)).toEqual([])
    expect(readdirSync(ctx.tempDir)).toEqual([])

    const dir = join(ctx.reportDir, 'env')
    expect(readdirSync(dir).sort()).toEqual(['devshell.env', 'diff.json', 'diff.md', 'host.env'])
    const markdown = readFileSync(join(dir, 'diff.md'), 'utf8')
    expect(markdown).toContain(tmpVerdict)
    const devEnv = readFileSync(join(dir, 'devshell.env'), 'utf8')
    expect(devEnv).toContain(`TMPDIR=${devshell.tmpdir.path}\n`)
    // Secret-named variables never reach nix develop (src/shared/child-env.ts): not even redacted.
    expect(devEnv).not.toMatch(/^MY_API_TOKEN=/m)
    for (const name of readdirSync(dir)) {
      const text = readFileSync(join(dir, name), 'utf8')
      for (const secret of [CANARY_TOKEN, CANARY_PASSWORD, REGISTERED]) {
        expect(text, `${name} holds a secret`).not.toContain(secret)
        expect(text, `${name} holds a secret's prefix`).not.toContain(secret.slice(0, 12))
      }
    }
    expect(ctx.lines.join('\n')).not.toContain(CANARY_TOKEN)
  })

  it("predicts from the headroom which context cannot bind socketImage's socket", async () => {
    // As in the incident: a test framework's tmp dir nested in TMPDIR. socketImage binds
    // "<build dir>/xchg/vm-state/qmp-monitor.sock" (30 bytes below it): with this TMPDIR the host
    // has room for it, the devshell (17 bytes more for nix-shell.XXXXXX) does not.
    const nested = join(scratch, 'p')
    const ctx = context('nested', nested)
    const fresh = { PRE_NIXOS_ROOT_KEY: makeKeyPair().publicKeyPath } // a fresh, unbuilt .drv
    const request = { flake, image: 'socketImage', devshell: 'bootImageTest', keyEnv: fresh }
    const result = await diffBuildEnvironment(nix, request, ctx)
    expect(result.ok, result.error).toBe(true)
    const { host, devshell } = readReport(ctx).contexts
    expect(devshell.tmpdir.socketHeadroom).toBe(host.tmpdir.socketHeadroom! - 17)
    expect(host.tmpdir.socketHeadroom).toBeGreaterThanOrEqual(30)
    expect(devshell.tmpdir.socketHeadroom).toBeLessThan(30)
    // The headroom verdict leads whenever the devshell leaves less room than the host.
    expect(result.verdicts[0]).toBe(
      `builds in the devshell run in-process under ${devshell.tmpdir.path}/, leaving ` +
        `${devshell.tmpdir.socketHeadroom} bytes for socket paths (host: ${host.tmpdir.socketHeadroom})`
    )
    expect(leftovers(nested)).toEqual([])

    // The real builds agree: the devshell's (first: a success would be cached) fails, the host's works.
    const build = ['build', `${flake}#socketImage`, '--impure', '--no-link']
    const env = { ...ctx.env, ...fresh }
    const inShell = spawnSync(NIX, ['develop', `${flake}#bootImageTest`, '-c', NIX, ...build], {
      env,
      encoding: 'utf8'
    })
    expect(inShell.status).not.toBe(0)
    expect(inShell.stderr).toContain('AF_UNIX path too long')
    const shellBuildDir = devshell.tmpdir.buildDir!.replace(/nix-shell\.\w{6}/, 'nix-shell.\\w{6}')
    expect(inShell.stderr).toMatch(new RegExp(`binding ${shellBuildDir}/xchg/`))
    const onHost = spawnSync(NIX, build, { env, encoding: 'utf8' })
    expect(onHost.status, onHost.stderr).toBe(0)
  })

  it('reports a devshell that does not exist, and still writes what it captured', async () => {
    const ctx = context('missing', join(scratch, 'missing-tmp'))
    const request = { flake, image: 'bootImage', devshell: 'noSuchShell', keyEnv }
    const result = await diffBuildEnvironment(nix, request, ctx)
    expect(result.ok).toBe(false)
    expect(result.error).toMatch(/^nix develop .*#noSuchShell failed: error: .*noSuchShell/s)
    expect(result.verdicts[0]).toMatch(/^`nix develop .*#noSuchShell` failed/)
    const dir = join(ctx.reportDir, 'env')
    expect(readdirSync(dir).sort()).toEqual(['diff.json', 'diff.md', 'host.env'])
    expect(readReport(ctx).contexts.host.drvPath).toMatch(/boot-image-vm-fixture\.iso\.drv$/)
    expect(existsSync(ctx.tempDir) ? readdirSync(ctx.tempDir) : []).toEqual([])
  })

  it('finds another nix, NIX_CONFIG and a key path of its own in a devshell that brings them', async () => {
    // Not the shared fixture: a devshell like a real project's, with nix pinned on its PATH
    // (a wrapper claiming 2.18.1), NIX_CONFIG, a shellHook that talks on stdout and moves the key.
    const dir = join(scratch, 'pinned')
    const bin = join(dir, 'bin')
    mkdirSync(bin, { recursive: true })
    const wrapper = '#!/bin/sh\n[ "$1" = --version ] && { echo "nix (Nix) 2.18.1"; exit 0; }\n'
    writeFileSync(join(bin, 'nix'), `${wrapper}exec ${NIX} "$@"\n`, { mode: 0o755 })
    writeFileSync(join(dir, 'flake.nix'), pinnedFlake(bin))
    for (const args of [
      ['init', '-q'],
      ['add', '-A']
    ])
      spawnSync('git', args, { cwd: dir })
    const ctx = context('pinned-run', join(scratch, 'pinned-tmp'))
    const request = { flake: dir, image: 'bootImage', devshell: 'pinnedNix', keyEnv }
    const result = await diffBuildEnvironment(nix, request, ctx)
    expect(result.ok, result.error).toBe(true)
    const { host, devshell } = readReport(ctx).contexts
    expect(devshell.drvPath).toMatch(/-env-test-image\.iso\.drv$/)
    expect(devshell.drvPath).not.toBe(host.drvPath)
    expect(result.verdicts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^the devshell evaluates bootImage to a different \.drv .*; PRE_NIXOS_ROOT_KEY differs between them$/
        ),
        `the devshell's nix is 2.18.1 (${bin}/nix), the host's is ${nix.version} (${NIX})`,
        "the devshell's nix has sandbox = true (host: false)",
        expect.stringMatching(/^the devshell sets NIX_CONFIG: /)
      ])
    )
    expect(result.verdicts[0]).toMatch(/different \.drv/)
    expect(result.differences.find(d => d.name === 'PATH')?.likelihood).toBe('high')
    const key = result.differences.find(d => d.name === 'PRE_NIXOS_ROOT_KEY')
    expect(key?.devshell).toBe(`${devshell.tmpdir.path}/pytest-of-root/id_ed25519.pub`)
    // The shellHook's "Welcome…" on stdout ran ahead of env -0's output and was not parsed.
    const variables = result.differences.filter(d => !isPseudoVariable(d.name))
    for (const d of variables) expect(d.name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/)
    expect(variables.length).toBeGreaterThan(10)
    expect(result.differences.find(d => d.name === 'nix version')).toMatchObject({
      host: nix.version,
      devshell: '2.18.1',
      likelihood: 'high'
    })
    expect(devshell.tmpdir).toMatchObject({ builderDir: '/build', socketHeadroom: 100 })
  })
})

function pinnedFlake(bin: string): string {
  return `{
  outputs = { self }: let
    system = "x86_64-linux";
    drv = attrs: builtins.derivation ({ inherit system; builder = "/bin/bash"; outputs = [ "out" ]; } // attrs);
  in {
    packages.\${system}.bootImage = drv {
      name = "env-test-image.iso";
      key = builtins.getEnv "PRE_NIXOS_ROOT_KEY";
      args = [ "-c" "mkdir $out" ];
    };
    devShells.\${system}.pinnedNix = drv {
      name = "pinned-nix-shell";
      PATH = "${bin}:/usr/bin:/bin";
      NIX_CONFIG = "sandbox = true";
      shellHook = ''
        echo "Welcome to the pinned-nix shell"
        export PRE_NIXOS_ROOT_KEY=$TMPDIR/pytest-of-root/id_ed25519.pub
      '';
    };
  };
}
`
}
