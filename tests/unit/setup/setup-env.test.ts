// What setup hands the test command and later steps (issue 13): Nix's directory and the user's
// profile on PATH, and setup's variables. Pure.
import { describe, expect, it } from 'vitest'
import type { NixInstallation } from '../../../src/model/index.js'
import { capabilitiesFor } from '../../../src/setup/capabilities.js'
import { missingPaths, nixStepEnv, withNixStepEnv } from '../../../src/setup/setup-env.js'

const nix: NixInstallation = {
  nixPath: '/nix/var/nix/profiles/default/bin/nix',
  version: '2.35.2',
  variant: 'nix',
  capabilities: capabilitiesFor('2.35.2', 'nix'),
  env: { NIX_USER_CONF_FILES: '/tmp/run/nix/nix.conf:/home/runner/.config/nix/nix.conf' },
  storeMode: 'daemon'
}

describe('nixStepEnv', () => {
  it("Nix's directory, then ~/.nix-profile/bin, and setup's variables", () => {
    const step = nixStepEnv(nix, { HOME: '/home/runner' })
    expect(step.paths).toEqual([
      '/nix/var/nix/profiles/default/bin',
      '/home/runner/.nix-profile/bin'
    ])
    expect(step.variables).toEqual(nix.env)
  })

  it('one directory when Nix is the profile’s, none for the profile without HOME', () => {
    const inProfile = { ...nix, nixPath: '/home/runner/.nix-profile/bin/nix' }
    expect(nixStepEnv(inProfile, { HOME: '/home/runner' }).paths).toEqual([
      '/home/runner/.nix-profile/bin'
    ])
    expect(nixStepEnv(nix, {}).paths).toEqual(['/nix/var/nix/profiles/default/bin'])
  })
})

describe('withNixStepEnv', () => {
  const step = nixStepEnv(nix, { HOME: '/home/runner' })

  it('puts the missing directories first, in order, and sets the variables', () => {
    const env = withNixStepEnv({ PATH: '/usr/bin:/bin', HOME: '/home/runner' }, step)
    expect(env.PATH).toBe(
      '/nix/var/nix/profiles/default/bin:/home/runner/.nix-profile/bin:/usr/bin:/bin'
    )
    expect(env.NIX_USER_CONF_FILES).toBe(nix.env.NIX_USER_CONF_FILES)
    expect(env.HOME).toBe('/home/runner')
  })

  it('leaves a directory already on PATH where it is', () => {
    const path = '/usr/bin:/nix/var/nix/profiles/default/bin'
    expect(missingPaths(step, path)).toEqual(['/home/runner/.nix-profile/bin'])
    expect(withNixStepEnv({ PATH: path }, step).PATH).toBe(`/home/runner/.nix-profile/bin:${path}`)
  })

  it('an empty PATH becomes the directories alone', () => {
    expect(withNixStepEnv({}, step).PATH).toBe(step.paths.join(':'))
  })
})
