// What each child gets of the action's environment (src/shared/child-env.ts): nix and QEMU an
// allow-list, the test command what a `run:` step gets. A job's environment as the runner gives
// an action, with every kind of credential in it.
import { describe, expect, it } from 'vitest'
import { allowedEnv, isCredentialName, runStepEnv } from '../../../src/shared/child-env.js'
import {
  parseInputs,
  INPUT_DEFAULTS,
  InputError,
  type InputName
} from '../../../src/inputs/index.js'

const JOB_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/runner',
  USER: 'runner',
  LOGNAME: 'runner',
  TMPDIR: '/tmp/x',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  NIX_PATH: 'nixpkgs=/n',
  NIX_CONF_DIR: '/etc/nix',
  NIX_SSL_CERT_FILE: '/etc/ssl/certs/ca.pem',
  NIX_SSHOPTS: '-p 2222',
  SSL_CERT_FILE: '/etc/ssl/certs/ca.pem',
  XDG_CONFIG_HOME: '/home/runner/.config',
  https_proxy: 'http://proxy:3128',
  PRE_NIXOS_ROOT_KEY: '/keys/id.pub',
  MY_FLAKE_SETTING: 'wanted',
  UNRELATED: 'not wanted',
  GITHUB_REPOSITORY: 'o/r',
  GITHUB_WORKSPACE: '/w',
  GITHUB_STATE: '/runner/_temp/save_state',
  GITHUB_OUTPUT: '/runner/_temp/set_output',
  RUNNER_TEMP: '/runner/_temp',
  RUNNER_TRACKING_ID: 'github_0c2d5a1e-runner-tracking',
  ACTIONS_RUNTIME_TOKEN: 'runtime-token-value',
  ACTIONS_RUNTIME_URL: 'https://pipelines.example/',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-token-value',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://oidc.example/',
  ACTIONS_RESULTS_URL: 'https://results.example/',
  ACTIONS_CACHE_URL: 'https://cache.example/',
  ACTIONS_CACHE_SERVICE_V2: 'True',
  'INPUT_GITHUB-TOKEN': 'ghs_input_token_value',
  INPUT_FLAKE: '.',
  GITHUB_TOKEN: 'ghs_env_token_value',
  DEPLOY_PASSWORD: 'hunter2-long',
  NIX_SECRET_KEY_FILE: '/secret/key'
}

const CREDENTIALS = [
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_URL',
  'INPUT_GITHUB-TOKEN',
  'INPUT_FLAKE',
  'GITHUB_TOKEN',
  'DEPLOY_PASSWORD',
  'NIX_SECRET_KEY_FILE'
]

describe('nix and QEMU: the allow-list', () => {
  const policy = { keyVar: 'PRE_NIXOS_ROOT_KEY', passEnv: ['MY_FLAKE_SETTING'] }

  it('passes what Nix and QEMU need, the key variable and what the user named', () => {
    const env = allowedEnv({ env: JOB_ENV, childEnv: policy })
    expect(Object.keys(env).sort()).toEqual(
      [
        'PATH',
        'HOME',
        'USER',
        'LOGNAME',
        'TMPDIR',
        'LANG',
        'LC_ALL',
        'TZ',
        'NIX_PATH',
        'NIX_CONF_DIR',
        'NIX_SSL_CERT_FILE',
        'NIX_SSHOPTS',
        'SSL_CERT_FILE',
        'XDG_CONFIG_HOME',
        'https_proxy',
        'PRE_NIXOS_ROOT_KEY',
        'MY_FLAKE_SETTING',
        // The runner's orphan clean-up finds a child left behind by it.
        'RUNNER_TRACKING_ID'
      ].sort()
    )
  })

  it('never a credential, whatever the user names', () => {
    const named = { keyVar: 'PRE_NIXOS_ROOT_KEY', passEnv: CREDENTIALS }
    const env = allowedEnv({ env: JOB_ENV, childEnv: named })
    for (const name of CREDENTIALS) expect(env, name).not.toHaveProperty(name)
  })

  it('without a policy (post): no pass-env, the default key variable', () => {
    const env = allowedEnv({ env: JOB_ENV })
    expect(env).not.toHaveProperty('MY_FLAKE_SETTING')
    expect(env.PRE_NIXOS_ROOT_KEY).toBe('/keys/id.pub')
  })

  it("the action's own overlays come last (Nix's variables, the key's path)", () => {
    const env = allowedEnv({ env: JOB_ENV }, { NIX_CONF_DIR: '/run/a' }, { KEY: '/k.pub' })
    expect(env.NIX_CONF_DIR).toBe('/run/a')
    expect(env.KEY).toBe('/k.pub')
  })

  it('a custom root-key-env is passed, the default one then is not', () => {
    const env = allowedEnv({
      env: { ...JOB_ENV, MY_KEY: '/k' },
      childEnv: { keyVar: 'MY_KEY', passEnv: [] }
    })
    expect(env.MY_KEY).toBe('/k')
    expect(env).not.toHaveProperty('PRE_NIXOS_ROOT_KEY')
  })
})

describe('the test command: what a run: step gets', () => {
  const env = runStepEnv(JOB_ENV, { BOOT_IMAGE_VM_SSH_PORT: '2222' })

  it('the job variables, GITHUB_TOKEN as the workflow set it, and BOOT_IMAGE_VM_*', () => {
    for (const name of ['GITHUB_TOKEN', 'GITHUB_WORKSPACE', 'UNRELATED', 'RUNNER_TEMP'])
      expect(env, name).toHaveProperty(name)
    expect(env.BOOT_IMAGE_VM_SSH_PORT).toBe('2222')
  })

  it('not the runtime tokens, the results and cache services, the inputs or the state file', () => {
    for (const name of [
      'ACTIONS_RUNTIME_TOKEN',
      'ACTIONS_RUNTIME_URL',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
      'ACTIONS_ID_TOKEN_REQUEST_URL',
      'ACTIONS_RESULTS_URL',
      'ACTIONS_CACHE_URL',
      'ACTIONS_CACHE_SERVICE_V2',
      'INPUT_GITHUB-TOKEN',
      'INPUT_FLAKE',
      'GITHUB_STATE'
    ])
      expect(env, name).not.toHaveProperty(name)
  })
})

describe('credential names', () => {
  it.each(CREDENTIALS.map(name => [name]))('%s is a credential', name => {
    expect(isCredentialName(name)).toBe(true)
  })
  it.each([['PATH'], ['NIX_PATH'], ['MY_FLAKE_SETTING'], ['BOOT_IMAGE_VM_LAB_KERNEL']])(
    '%s is not',
    name => expect(isCredentialName(name)).toBe(false)
  )
})

describe('input pass-env', () => {
  const parse = (value: string) =>
    parseInputs((name: InputName) => (name === 'pass-env' ? value : INPUT_DEFAULTS[name]))

  it('one name a line; blanks and repeats dropped', () => {
    expect(parse('A_B\n\n  C1  \nA_B\n').passEnv).toEqual(['A_B', 'C1'])
    expect(parse('').passEnv).toEqual([])
  })

  it.each([['1ABC'], ['A-B'], ['A B'], ['$(id)']])('%s: not a variable name', value => {
    expect(() => parse(value)).toThrow(InputError)
    expect(() => parse(value)).toThrow(/Input 'pass-env'.*not a valid environment variable name/)
  })

  it.each([['ACTIONS_RUNTIME_TOKEN'], ['INPUT_GITHUB-TOKEN'], ['GITHUB_TOKEN'], ['DB_PASSWORD']])(
    '%s: refused as a credential',
    value => {
      // INPUT_GITHUB-TOKEN is not even a valid name; either way the input is named.
      expect(() => parse(value)).toThrow(/Input 'pass-env'/)
    }
  )

  it('a credential is refused with why and what to do instead', () => {
    expect(() => parse('GITHUB_TOKEN')).toThrow(/looks like a credential.*github-token/)
  })
})
