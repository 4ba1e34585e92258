// The inputs that reach Nix's configuration files, tried as a hostile or careless user would
// (issue 13); the same cases run through the bundled action in tests/e2e/hardening-inputs.test.ts.
import { describe, expect, it } from 'vitest'
import { INPUT_DEFAULTS, parseInputs, type InputName } from '../../../src/inputs/index.js'
import { dropInText } from '../../../src/setup/setup-config.js'
import { versionMismatch } from '../../../src/setup/stage.js'

const parse = (given: Partial<Record<InputName, string>>) =>
  parseInputs(name => given[name] ?? INPUT_DEFAULTS[name])

describe('github-token', () => {
  it.each(['x\npost-build-hook = /tmp/evil-hook', 'a b', 'a\tb', 'a\rb', 'a\u0000b'])(
    'refuses %j, naming the input and never echoing the value',
    token => {
      expect(() => parse({ 'github-token': token })).toThrow(
        /^Input 'github-token': contains white space or a control character/
      )
      try {
        parse({ 'github-token': token })
      } catch (error) {
        expect((error as Error).message).not.toContain(token)
        expect((error as Error).message).not.toContain('evil')
      }
    }
  )

  it('takes a token (surrounding white space trimmed, as before)', () => {
    expect(parse({ 'github-token': ' ghs_abc123 \n' }).githubToken).toBe('ghs_abc123')
  })
})

describe('nix-version', () => {
  it.each(['2.35.2; rm -rf /', 'latest', '2.35', 'v2.35.2', '2.35.2@sha256:abc'])(
    'refuses %j',
    version => {
      expect(() => parse({ 'nix-version': version })).toThrow(
        /^Input 'nix-version': '.*' is not a version like '2\.35\.2'/
      )
    }
  )

  it('takes empty, a version, or a version with the installer hash', () => {
    expect(parse({}).nixVersion).toBe('')
    expect(parse({ 'nix-version': '2.35.2' }).nixVersion).toBe('2.35.2')
    const pinned = `2.35.2@sha256:${'a'.repeat(64)}`
    expect(parse({ 'nix-version': pinned }).nixVersion).toBe(pinned)
  })

  it('warns, naming nix: install, when the Nix found is another version', () => {
    const found = { nixPath: '/usr/bin/nix', variant: 'nix', version: '2.8.0' }
    expect(versionMismatch('2.35.2', found)).toMatch(
      /nix-version asks for Nix 2\.35\.2, but the Nix already here \(\/usr\/bin\/nix\) is nix 2\.8\.0.*'nix: install'/
    )
    expect(versionMismatch(`2.8.0@sha256:${'b'.repeat(64)}`, found)).toBeUndefined()
    expect(versionMismatch('', found)).toBeUndefined()
  })
})

describe('extra-nix-conf', () => {
  it.each(['sandbox=false', 'rm -rf /', 'substituters =https://x', '= value', 'include'])(
    'refuses the line %j',
    line => {
      expect(() => parse({ 'extra-nix-conf': `max-jobs = 2\n${line}` })).toThrow(
        /^Input 'extra-nix-conf': line 2 \('.*'\) is not a Nix setting/
      )
    }
  )

  it('takes settings (empty values too), includes and comments, one per line', () => {
    const lines = [
      'extra-substituters = https://cache.example',
      'post-build-hook =',
      '# a comment',
      'include /etc/nix/extra.conf',
      '!include /maybe/missing.conf'
    ]
    expect(parse({ 'extra-nix-conf': lines.join('\n') }).extraNixConf).toEqual(lines)
    // What reaches the drop-in is exactly those lines.
    const text = dropInText({ extraNixConf: lines, kvm: false })
    for (const line of lines) expect(text.split('\n')).toContain(line)
  })
})
