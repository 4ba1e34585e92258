// Issue 14's leftover: extra-nix-conf settings the Nix daemon ignores for a user it does not
// trust. Pure decisions over what setup reads (the user, /etc/group, `nix show-config --json`);
// the daemon's rules they follow are cited in src/setup/untrusted-settings.ts (daemon.cc,
// setOptions). No daemon here: the facts are the runner image's (runner in adm and users,
// nix.conf.untrusted's `trusted-users = root`).
import { describe, expect, it } from 'vitest'
import {
  trustSettings,
  untrustedSettingsWarning,
  userTrusted,
  type TrustFacts
} from '../../../src/setup/untrusted-settings.js'
import { groupsOf } from '../../../src/setup/user-groups.js'

const cache = 'file:///tmp/cache'
const facts = (over: Partial<TrustFacts> = {}): TrustFacts => ({
  storeMode: 'daemon',
  user: 'runner',
  groups: ['runner', 'adm', 'users'],
  trustedUsers: ['root'],
  trustedSubstituters: [],
  extraNixConf: [`extra-substituters = ${cache}`, 'extra-trusted-public-keys = k:AAAA'],
  ...over
})

describe('untrustedSettingsWarning', () => {
  it('an untrusted runner with a substituter and its key: one warning naming both and the fix', () => {
    const warning = untrustedSettingsWarning(facts())
    expect(warning).toMatch(
      /^extra-nix-conf sets `substituters`, `trusted-public-keys`, but the Nix daemon does not trust the user runner \(trusted-users = root\), so it ignores them/
    )
    expect(warning).toContain('Add runner to trusted-users in the daemon')
    expect(warning).toContain(
      "or set `substituters`, `trusted-public-keys` in the daemon's nix.conf"
    )
  })

  it('says nothing when the settings apply: in-process, trusted by name, group or *', () => {
    expect(untrustedSettingsWarning(facts({ storeMode: 'in-process' }))).toBeUndefined()
    for (const trustedUsers of [['root', 'runner'], ['root', '@adm'], ['*']])
      expect(untrustedSettingsWarning(facts({ trustedUsers })), trustedUsers.join()).toBeUndefined()
  })

  it('says nothing when it cannot tell (no user, no trusted-users, or set by extra-nix-conf)', () => {
    expect(untrustedSettingsWarning(facts({ trustedUsers: undefined }))).toBeUndefined()
    expect(untrustedSettingsWarning(facts({ user: '' }))).toBeUndefined()
    const own = facts({ extraNixConf: ['trusted-users = runner', `substituters = ${cache}`] })
    expect(untrustedSettingsWarning(own)).toBeUndefined()
  })

  it('a substituter the daemon lists in trusted-substituters is kept (with or without /)', () => {
    const kept = facts({
      trustedSubstituters: [`${cache}/`],
      extraNixConf: [`extra-substituters = ${cache}`]
    })
    expect(untrustedSettingsWarning(kept)).toBeUndefined()
    // Its key is still the daemon's to trust.
    const withKey = { ...kept, extraNixConf: [...kept.extraNixConf, 'trusted-public-keys = k:A'] }
    expect(untrustedSettingsWarning(withKey)).toMatch(
      /^extra-nix-conf sets `trusted-public-keys`, /
    )
    // trusted-substituters set in extra-nix-conf is the client's view only.
    const own = { ...kept, extraNixConf: [...kept.extraNixConf, `trusted-substituters = ${cache}`] }
    expect(untrustedSettingsWarning(own)).toMatch(/sets `substituters`, but/)
  })

  it('builders and the other daemon-side settings; client-side ones are not named', () => {
    const warning = untrustedSettingsWarning(
      facts({
        extraNixConf: [
          '# a comment',
          'builders = ssh-ng://b x86_64-linux',
          'builders-use-substitutes = true',
          'max-silent-time = 60',
          'access-tokens = github.com=x',
          'accept-flake-config = true'
        ]
      })
    )
    expect(warning).toMatch(/^extra-nix-conf sets `builders`, `builders-use-substitutes`, but/)
    // Empty builders is the one builders value an untrusted user may send.
    expect(untrustedSettingsWarning(facts({ extraNixConf: ['builders = '] }))).toBeUndefined()
    expect(untrustedSettingsWarning(facts({ extraNixConf: ['timeout = 60'] }))).toBeUndefined()
    expect(untrustedSettingsWarning(facts({ extraNixConf: [] }))).toBeUndefined()
  })
})

describe('userTrusted, trustSettings, groupsOf', () => {
  it('reads trusted-users and trusted-substituters from nix show-config --json (2.8 shape)', () => {
    const config = {
      'trusted-users': { value: ['root', '@wheel'] },
      'trusted-substituters': { value: [] },
      substituters: { value: [] }
    }
    expect(trustSettings(config)).toEqual({
      trustedUsers: ['root', '@wheel'],
      trustedSubstituters: []
    })
    expect(trustSettings({})).toEqual({ trustedUsers: undefined, trustedSubstituters: [] })
    expect(userTrusted({ user: 'runner', groups: ['wheel'], trustedUsers: ['@wheel'] })).toBe(true)
    expect(userTrusted({ user: 'runner', groups: ['users'], trustedUsers: ['@wheel'] })).toBe(false)
  })

  it('groups from /etc/group: the primary by id, the others by member list', () => {
    const groupFile = [
      'root:x:0:',
      'adm:x:4:syslog,runner',
      'users:x:100:',
      'runner:x:1001:',
      'docker:x:999:other',
      ''
    ].join('\n')
    expect(groupsOf('runner', 1001, groupFile)).toEqual(['adm', 'runner'])
  })
})
