// The pure half of the env diff: parsing `env -0`, redaction, classification, verdicts, markdown.
import { describe, expect, it } from 'vitest'
import {
  classifyVariable,
  contextFacts,
  diffEnvironments,
  nixReason,
  parseConfigJson,
  parseEnv0,
  redactEnv,
  renderDiffMarkdown,
  storeMode
} from '../../../src/env/env-diff.js'
import { renderEnvFile } from '../../../src/env/stage.js'
import type { ContextCapture, EnvDiffReport } from '../../../src/env/types.js'
import { drvName, plannedBuildDir, socketHeadroom } from '../../../src/env/env-verdicts.js'
import { Secrets } from '../../../src/shared/secrets.js'

// The incident's derivation (shared/seed): its build directory name is what fills sun_path.
const DRV =
  '/nix/store/sxdfwpm10pwks6cppwbk2w9vqyxk8dpg-nixos-24.05.20241230.b134951-x86_64-linux.iso.drv'
const OTHER_DRV =
  '/nix/store/0000000000000000000000000000000a-nixos-24.05.20241230.b134951-x86_64-linux.iso.drv'
const SHELL_TMP = '/tmp/nix-shell.qywJXF'

function capture(context: 'host' | 'devshell', over: Partial<ContextCapture> = {}): ContextCapture {
  const tmp = context === 'host' ? '/tmp' : SHELL_TMP
  const settings = { sandbox: 'false', store: 'auto', ...over.settings }
  const version = over.nix?.version ?? '2.24.0'
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', TMPDIR: tmp, HOME: '/root' }
  const mode = over.store?.mode ?? 'in-process'
  return {
    context,
    ok: true,
    env,
    nix: {
      onPath: '/usr/bin/nix',
      onPathRealPath: '/usr/bin/nix',
      path: '/usr/bin/nix',
      realPath: '/usr/bin/nix',
      version,
      variant: 'nix'
    },
    store: {
      nixRemote: null,
      store: 'auto',
      daemonSocket: false,
      stateDirWritable: true,
      uid: 0,
      mode
    },
    tmpdir: {
      path: tmp,
      set: true,
      realPath: tmp,
      bytes: tmp.length,
      exists: true,
      writable: true,
      freeBytes: 10 * 2 ** 30,
      ...plannedBuildDir({ tmpdir: tmp, version, mode, settings, drvName: drvName(DRV) })
    },
    drvPath: DRV,
    durationMs: 10,
    ...over,
    settings
  }
}

describe('parseEnv0', () => {
  it('splits NUL-terminated records, keeping = and line breaks inside values', () => {
    const text = 'A=1\0B=x=y\0shellHook=echo hi\nexport C=2\n\0EMPTY=\0'
    expect(parseEnv0(text)).toEqual({
      A: '1',
      B: 'x=y',
      shellHook: 'echo hi\nexport C=2\n',
      EMPTY: ''
    })
  })

  it('drops what a shellHook printed on stdout before the first record', () => {
    expect(parseEnv0('Welcome to the shell!\nhave fun\nPATH=/bin\0HOME=/root\0')).toEqual({
      PATH: '/bin',
      HOME: '/root'
    })
  })
})

describe('redactEnv', () => {
  const token = 'ghp_canary0123456789abcdefABCDEF'
  it('never lets a secret or its prefix through, and keeps changes visible through the hash', () => {
    const secrets = new Secrets()
    secrets.add('registered-secret-value')
    const host = redactEnv(
      {
        MY_API_TOKEN: token,
        DB_PASSWORD: 'hunter2-but-longer',
        NIX_CONFIG: 'access-tokens = github.com=registered-secret-value',
        COPY: token,
        PLAIN: 'visible',
        EMPTY_TOKEN: ''
      },
      secrets
    )
    const devshell = redactEnv({ MY_API_TOKEN: token, DB_PASSWORD: 'changed-password' }, secrets)
    const all = JSON.stringify([host, devshell])
    for (const secret of [
      token,
      'hunter2-but-longer',
      'registered-secret-value',
      'changed-password'
    ]) {
      expect(all).not.toContain(secret)
      expect(all).not.toContain(secret.slice(0, 8))
    }
    expect(host.MY_API_TOKEN).toMatch(/^<redacted sha256:[0-9a-f]{8}>$/)
    expect(host.COPY).toBe(host.MY_API_TOKEN) // a value under another name: same tag
    expect(devshell.MY_API_TOKEN).toBe(host.MY_API_TOKEN) // unchanged: same tag
    expect(devshell.DB_PASSWORD).not.toBe(host.DB_PASSWORD) // changed: another tag
    expect(host.NIX_CONFIG).toMatch(/^<redacted sha256:/)
    expect(host.PLAIN).toBe('visible')
    expect(host.EMPTY_TOKEN).toBe('')
  })

  it('hides copies only of values that are secrets by the one rule, not of settings', () => {
    const env = redactEnv(
      { PRIVATE_KEY_BITS: '2048', TOKEN_ENABLED: 'true', PORT: '2048', FLAG: 'true' },
      new Secrets()
    )
    // The secret-named variables themselves are still tagged; ordinary ones that share a value are not.
    expect(env.PRIVATE_KEY_BITS).toMatch(/^<redacted sha256:/)
    expect(env.TOKEN_ENABLED).toMatch(/^<redacted sha256:/)
    expect(env).toMatchObject({ PORT: '2048', FLAG: 'true' })
  })
})

describe('classifyVariable', () => {
  it.each([
    ['TMPDIR', 'high'],
    ['NIX_BUILD_TOP', 'high'],
    ['NIX_CONFIG', 'high'],
    ['NIX_REMOTE', 'high'],
    ['SSL_CERT_FILE', 'high'],
    ['XDG_CONFIG_HOME', 'high'],
    ['NIX_BUILD_CORES', 'medium'],
    ['IN_NIX_SHELL', 'medium'],
    ['LD_LIBRARY_PATH', 'medium'],
    ['LANG', 'medium'],
    ['shellHook', 'low'],
    ['builder', 'low'],
    ['FOO', 'low']
  ])('%s is %s', (name, likelihood) => {
    expect(classifyVariable(name).likelihood).toBe(likelihood)
  })

  it('rates TMPDIR and its kin by where builds run: high in-process, low through a daemon', () => {
    for (const name of ['TMPDIR', 'TMP', 'TEMP', 'TEMPDIR']) {
      expect(classifyVariable(name, { storeMode: 'in-process' })).toMatchObject({
        likelihood: 'high',
        reason: expect.stringMatching(/^in-process builds .* build directory under it/)
      })
      expect(classifyVariable(name, { storeMode: 'daemon' })).toEqual({
        likelihood: 'low',
        reason:
          "builds go through the daemon, which builds under its own TMPDIR or build-dir: this context's TMPDIR does not reach them"
      })
      expect(classifyVariable(name, { storeMode: 'remote' }).likelihood).toBe('low')
    }
    // nix develop's own temp dir stays high: it is never deleted, whatever the store.
    expect(classifyVariable('NIX_BUILD_TOP', { storeMode: 'daemon' }).likelihood).toBe('high')
  })

  it('rates the key variable and a PATH with another nix high', () => {
    expect(
      classifyVariable('PRE_NIXOS_ROOT_KEY', { keyNames: ['PRE_NIXOS_ROOT_KEY'] })
    ).toMatchObject({ likelihood: 'high', reason: expect.stringContaining('builtins.getEnv') })
    const pathNix = {
      differs: true,
      host: '/usr/bin/nix',
      devshell: '/nix/store/x-nix-2.18.1/bin/nix'
    }
    expect(classifyVariable('PATH', { pathNix })).toEqual({
      likelihood: 'high',
      reason: 'the first nix on PATH differs: /usr/bin/nix vs /nix/store/x-nix-2.18.1/bin/nix'
    })
    const same = { differs: false, host: '/usr/bin/nix', devshell: '/usr/bin/nix' }
    expect(classifyVariable('PATH', { pathNix: same }).likelihood).toBe('medium')
  })
})

describe('build directory and socket headroom', () => {
  const base = {
    version: '2.24.0',
    mode: 'in-process' as const,
    settings: {},
    drvName: drvName(DRV)
  }
  it('puts an in-process build under TMPDIR before 2.30 and counts what is left of sun_path', () => {
    expect(drvName(DRV)).toBe('nixos-24.05.20241230.b134951-x86_64-linux.iso.drv')
    expect(plannedBuildDir({ ...base, tmpdir: '/tmp' }).socketHeadroom).toBe(40)
    const shell = plannedBuildDir({ ...base, tmpdir: SHELL_TMP })
    expect(shell.buildDir).toBe(
      `${SHELL_TMP}/nix-build-nixos-24.05.20241230.b134951-x86_64-linux.iso.drv-0`
    )
    expect(shell.socketHeadroom).toBe(23)
    expect(socketHeadroom('/build')).toBe(100)
  })

  it('knows build-dir, Nix 2.30, the sandbox and the daemon', () => {
    expect(plannedBuildDir({ ...base, tmpdir: SHELL_TMP, version: '2.30.1' }).buildDir).toMatch(
      /^\/nix\/var\/nix\/builds\/nix-build-/
    )
    const custom = plannedBuildDir({ ...base, tmpdir: SHELL_TMP, settings: { 'build-dir': '/b' } })
    expect(custom.buildDir).toBe('/b/nix-build-nixos-24.05.20241230.b134951-x86_64-linux.iso.drv-0')
    const sandboxed = plannedBuildDir({ ...base, tmpdir: SHELL_TMP, settings: { sandbox: 'true' } })
    expect(sandboxed).toMatchObject({ builderDir: '/build', socketHeadroom: 100 })
    expect(
      plannedBuildDir({ ...base, tmpdir: SHELL_TMP, mode: 'daemon' }).socketHeadroom
    ).toBeNull()
  })

  it('decides the store mode as Nix does for auto', () => {
    const facts = {
      nixRemote: null,
      store: 'auto',
      daemonSocket: true,
      stateDirWritable: true,
      uid: 0
    }
    expect(storeMode(facts)).toBe('in-process') // root can write the state dir: no daemon
    expect(storeMode({ ...facts, stateDirWritable: false })).toBe('daemon')
    expect(storeMode({ ...facts, store: null, nixRemote: 'daemon' })).toBe('daemon')
    expect(storeMode({ ...facts, store: 'ssh-ng://builder' })).toBe('remote')
  })
})

describe('nix output', () => {
  it('reads the settings subset, numeric experimental features of 2.8 included', () => {
    const json = JSON.stringify({
      sandbox: { value: false },
      'experimental-features': { value: [2, 3] },
      substituters: { value: [] },
      'system-features': { value: ['kvm', 'nixos-test'] },
      'access-tokens': { value: { 'github.com': 'secret' } }
    })
    expect(parseConfigJson(json)).toEqual({
      sandbox: 'false',
      'experimental-features': 'flakes nix-command',
      substituters: '',
      'system-features': 'kvm nixos-test'
    })
  })

  it('keeps the error, without colours or the dirty-tree warning', () => {
    const stderr =
      "warning: Git tree '/x' is dirty\n\x1b[31;1merror:\x1b[0m flake has no devShell\n"
    expect(nixReason(stderr, 'failed')).toBe('error: flake has no devShell')
  })
})

describe('diffEnvironments', () => {
  const options = {
    image: 'bootImage',
    installable: '.#bootImageTest',
    keyNames: ['PRE_NIXOS_ROOT_KEY']
  }

  it('leads with the socket headroom in the incident, then the reassurances', () => {
    const host = capture('host')
    const devshell = capture('devshell')
    devshell.env = { ...devshell.env, IN_NIX_SHELL: 'impure', shellHook: 'echo hi' }
    const { verdicts, differences } = diffEnvironments(host, devshell, options)
    expect(verdicts).toEqual([
      `builds in the devshell run in-process under ${SHELL_TMP}/, leaving 23 bytes for socket paths (host: 40)`,
      `same .drv in both contexts: ${DRV}`,
      '3 variables differ: 1 likely to change a build, 1 possibly, 1 unlikely',
      'same nix in both contexts: 2.24.0 (/usr/bin/nix)'
    ])
    expect(differences.map(d => [d.name, d.kind, d.likelihood])).toEqual([
      ['socket headroom', 'changed', 'high'],
      ['TMPDIR', 'changed', 'high'],
      ['IN_NIX_SHELL', 'added', 'medium'],
      ['shellHook', 'added', 'low']
    ])
  })

  it('names a different .drv, another nix, NIX_CONFIG, settings and a dropped SSL_CERT_FILE', () => {
    const host = capture('host')
    host.env = { ...host.env, PRE_NIXOS_ROOT_KEY: '/tmp/key.pub', SSL_CERT_FILE: '/etc/ssl/ca.pem' }
    const devNix = '/nix/store/abc-nix-2.18.1/bin/nix'
    const devshell = capture('devshell', {
      drvPath: OTHER_DRV,
      settings: { sandbox: 'true' },
      nix: {
        onPath: devNix,
        onPathRealPath: devNix,
        path: devNix,
        realPath: devNix,
        version: '2.18.1',
        variant: 'nix'
      }
    })
    devshell.env = {
      ...devshell.env,
      PATH: '/nix/store/abc-nix-2.18.1/bin:/usr/bin:/bin',
      PRE_NIXOS_ROOT_KEY: `${SHELL_TMP}/key.pub`,
      NIX_CONFIG: 'sandbox = true'
    }
    const { verdicts, differences } = diffEnvironments(host, devshell, options)
    expect(verdicts.slice(0, 5)).toEqual([
      `the devshell evaluates bootImage to a different .drv (host: ${DRV}, devshell: ${OTHER_DRV}); PRE_NIXOS_ROOT_KEY differs between them`,
      `the devshell's nix is 2.18.1 (${devNix}), the host's is 2.24.0 (/usr/bin/nix)`,
      "the devshell's nix has sandbox = true (host: false)",
      'the devshell sets NIX_CONFIG: extra nix.conf lines that every nix command in the context applies',
      expect.stringMatching(/^the devshell unsets SSL_CERT_FILE: .*#12234/)
    ])
    expect(differences.find(d => d.name === 'PATH')?.likelihood).toBe('high')
    // The facts travel in report.json too, as pseudo-variables ahead of the variables.
    expect(differences.slice(0, 3).map(d => [d.name, d.host, d.devshell])).toEqual([
      ['.drv', DRV, OTHER_DRV],
      ['nix version', '2.24.0', '2.18.1'],
      ['nix.conf sandbox', 'false', 'true']
    ])
    // The sandbox shows the builder /build: more room than the host's /tmp, so not a suspect.
    expect(differences.find(d => d.name === 'socket headroom')).toMatchObject({
      host: '40 bytes',
      devshell: '100 bytes',
      likelihood: 'low'
    })
    expect(differences.slice(0, 5).every(d => d.likelihood === 'high')).toBe(true)
  })

  it('follows the store mode the action passes: TMPDIR is low when both contexts use the daemon', () => {
    const viaDaemon = (context: 'host' | 'devshell'): ContextCapture =>
      capture(context, { store: { ...capture(context).store, daemonSocket: true, mode: 'daemon' } })
    const host = viaDaemon('host')
    const devshell = viaDaemon('devshell')
    const { differences } = diffEnvironments(host, devshell, { ...options, storeMode: 'daemon' })
    expect(differences.find(d => d.name === 'TMPDIR')).toMatchObject({
      likelihood: 'low',
      reason: expect.stringContaining('through the daemon')
    })
    // The action's builds in-process: the same difference is a suspect again.
    const inProcess = diffEnvironments(host, devshell, { ...options, storeMode: 'in-process' })
    expect(inProcess.differences.find(d => d.name === 'TMPDIR')?.likelihood).toBe('high')
    // A devshell that builds in-process (say it sets NIX_REMOTE=local) uses its TMPDIR.
    const local = capture('devshell', { store: { ...devshell.store, mode: 'in-process' } })
    const mixed = diffEnvironments(host, local, { ...options, storeMode: 'daemon' })
    expect(mixed.differences.find(d => d.name === 'TMPDIR')?.likelihood).toBe('high')
  })

  it('says when nix develop failed', () => {
    const devshell = capture('devshell', {
      ok: false,
      error: "error: flake does not provide attribute 'devShells.x86_64-linux.nope'",
      drvPath: null
    })
    devshell.env = {}
    const { verdicts } = diffEnvironments(capture('host'), devshell, options)
    expect(verdicts[0]).toBe(
      "`nix develop .#bootImageTest` failed: error: flake does not provide attribute 'devShells.x86_64-linux.nope'"
    )
    expect(verdicts).toContain(`the host evaluates bootImage to ${DRV}`)
  })
})

describe('renderDiffMarkdown', () => {
  it('puts the verdicts on top, then the tables, with values made safe for a table', () => {
    const host = capture('host')
    const devshell = capture('devshell')
    devshell.env = { ...devshell.env, PATH: '/opt/a|b/bin:/usr/bin:/bin', WEIRD: 'a`b\nc' }
    const { verdicts, differences } = diffEnvironments(host, devshell, { image: 'bootImage' })
    const report: EnvDiffReport = {
      schemaVersion: 1,
      ok: true,
      verdicts,
      differences,
      durationMs: 5,
      request: { flake: '.', image: 'bootImage', devshell: 'bootImageTest', keyNames: [] },
      contexts: { host: contextFacts(host), devshell: contextFacts(devshell) },
      files: []
    }
    const md = renderDiffMarkdown(report)
    const sections = ['## Verdicts', '## Derivation', '## Nix', '## TMPDIR', '## Variables']
    const positions = sections.map(s => md.indexOf(s))
    expect(positions).toEqual([...positions].sort((a, b) => a - b))
    expect(md.indexOf(verdicts[0])).toBeLessThan(md.indexOf('## Derivation'))
    expect(md).toContain('| **socket headroom (bytes)** | 40 | 23 |')
    expect(md).toContain(
      "| `PATH` | changed | medium | `/usr/bin:/bin` | `/opt/a\\|b/bin` + the host's |"
    )
    expect(md).toContain('`` a`b⏎c ``')
  })
})

describe('renderEnvFile', () => {
  it('writes sorted NAME=value lines, one per variable, whatever the values hold', () => {
    const text = renderEnvFile({ B: 'two\nlines', A: 'back\\slash', C: '' })
    expect(text).toBe('A=back\\\\slash\nB=two\\nlines\nC=\n')
  })
})
