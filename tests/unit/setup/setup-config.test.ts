import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  dropInText,
  experimentalFeatures,
  parseConfigText,
  redactConfig,
  storeModeFor,
  userConfFiles
} from '../../../src/setup/setup-config.js'
import { Secrets } from '../../../src/shared/secrets.js'

let work = ''
afterEach(() => {
  if (work) rmSync(work, { recursive: true, force: true })
  work = ''
})

describe('dropInText', () => {
  it('enables flakes, then the user lines, the kvm feature only when asked, the token last', () => {
    const text = dropInText({ extraNixConf: ['max-jobs = 4'], kvm: true, tokenPath: '/t/tok.conf' })
    const lines = text
      .trim()
      .split('\n')
      .filter(line => !line.startsWith('#'))
    expect(lines).toEqual([
      'extra-experimental-features = nix-command flakes',
      'extra-system-features = kvm',
      'max-jobs = 4',
      '!include /t/tok.conf'
    ])
    expect(dropInText({ extraNixConf: [], kvm: false })).not.toMatch(/kvm|include|accept-flake/)
  })
})

describe('userConfFiles', () => {
  it('lists the existing XDG user files, or NIX_USER_CONF_FILES as given', () => {
    work = mkdtempSync(join(tmpdir(), 'bivm-conf-'))
    for (const dir of ['home/.config/nix', 'xdg1/nix'])
      mkdirSync(join(work, dir), { recursive: true })
    writeFileSync(join(work, 'home/.config/nix/nix.conf'), '')
    writeFileSync(join(work, 'xdg1/nix/nix.conf'), '')
    const env = { HOME: join(work, 'home'), XDG_CONFIG_DIRS: `${work}/xdg1:${work}/xdg2` }
    expect(userConfFiles(env)).toEqual([
      join(work, 'home/.config/nix/nix.conf'),
      join(work, 'xdg1/nix/nix.conf')
    ])
    expect(userConfFiles({ ...env, XDG_CONFIG_HOME: join(work, 'none') })).toEqual([
      join(work, 'xdg1/nix/nix.conf')
    ])
    expect(userConfFiles({ NIX_USER_CONF_FILES: '/a.conf:/b.conf' })).toEqual([
      '/a.conf',
      '/b.conf'
    ])
  })
})

describe('reading the configuration back', () => {
  it('parses the text form and prefers named features from JSON', () => {
    const text =
      'access-tokens = github.com=x\nexperimental-features = flakes nix-command\nstore = auto\n'
    expect(parseConfigText(text)['experimental-features']).toBe('flakes nix-command')
    expect(experimentalFeatures({ 'experimental-features': { value: ['flakes'] } })).toEqual([
      'flakes'
    ])
    // Nix 2.8 as Debian builds it prints numbers: the text form decides.
    const numeric = { 'experimental-features': { value: [2, 3] } }
    expect(experimentalFeatures(numeric)).toBeUndefined()
    expect(experimentalFeatures(numeric, 'flakes nix-command')).toEqual(['flakes', 'nix-command'])
  })

  it('redacts access tokens by key and every known secret anywhere', () => {
    const secrets = new Secrets()
    secrets.add('ghp_secretvalue')
    const redacted = redactConfig(
      {
        'access-tokens': {
          value: { 'github.com': 'ghp_other', 'gitlab.com': 'glpat' },
          defaultValue: {}
        },
        'extra-x': { value: 'has ghp_secretvalue inside' }
      },
      secrets
    )
    expect(redacted['access-tokens'].value).toEqual({ 'github.com': '***', 'gitlab.com': '***' })
    expect(JSON.stringify(redacted)).not.toMatch(/ghp_|glpat/)
  })
})

describe('storeModeFor', () => {
  it.each([
    ['daemon', false, false, 'daemon'],
    ['unix:///x/socket', true, true, 'daemon'],
    ['local', false, true, 'in-process'],
    ['/tmp/chroot-store', false, true, 'in-process'],
    ['ssh-ng://builder', true, false, 'daemon'],
    ['auto', true, true, 'in-process'],
    ['', false, true, 'daemon'],
    ['auto', false, false, 'in-process']
  ] as const)(
    'store %j, state dir writable %s, socket %s → %s',
    (store, writable, socket, mode) => {
      expect(storeModeFor(store, writable, socket).mode).toBe(mode)
    }
  )
})
