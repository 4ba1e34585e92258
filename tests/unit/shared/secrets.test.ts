// The secret heuristics: names matched on whole parts, values known only by their name taken as
// secrets only when they could be one. An ordinary runner environment registers nothing.
import { describe, expect, it } from 'vitest'
import { Secrets, isNamedSecret, isSecretName } from '../../../src/shared/secrets.js'

describe('isSecretName: secret words as whole `_`/`-` separated parts', () => {
  it.each([
    'GITHUB_TOKEN',
    'GH_TOKEN',
    'MY_API_KEY',
    'MY_APIKEY',
    'NPM_AUTH_TOKEN',
    'AUTH',
    'HTTP_AUTH',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_ACCESS_KEY_ID',
    'DEPLOY_PASSWORD',
    'DB_PASSWD',
    'SIGNING_PRIVATE_KEY',
    'GPG_PASSPHRASE',
    'GOOGLE_CREDENTIALS',
    'INPUT_GITHUB-TOKEN',
    'github_token',
    'ACTIONS_RUNTIME_TOKEN',
    'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    'ACTIONS_RESULTS_URL'
  ])('%s is a secret name', name => {
    expect(isSecretName(name)).toBe(true)
  })

  it.each([
    'GIT_AUTHOR_NAME',
    'GIT_AUTHOR_EMAIL',
    'GIT_COMMITTER_NAME',
    'AUTHOR',
    'AUTHORS_FILE',
    'OAUTHLIB_DEBUG',
    'TOKENIZER_PATH',
    'SECRETARY',
    'PRIVATE_NETWORK',
    'KEYBOARD_LAYOUT',
    'HOME',
    'PATH',
    'RUNNER_TEMP'
  ])('%s is not', name => {
    expect(isSecretName(name)).toBe(false)
  })
})

describe('isNamedSecret: a value known only by its name', () => {
  it('needs a secret name and a value of 8 characters or more', () => {
    expect(isNamedSecret('MY_TOKEN', 'abcdefgh')).toBe(true)
    expect(isNamedSecret('MY_TOKEN', 'abcdefg')).toBe(false)
    expect(isNamedSecret('MY_NAME', 'abcdefghijkl')).toBe(false)
    expect(isNamedSecret('MY_TOKEN', undefined)).toBe(false)
  })

  it('never takes booleans, settings or paths', () => {
    for (const value of ['true', 'root', '1', 'disabled', 'enabled', 'undefined', 'FALSE'])
      expect(isNamedSecret('SOME_AUTH', value), value).toBe(false)
    expect(isNamedSecret('SSH_AUTH_SOCK', '/tmp/ssh-XXXXabcd/agent.1234')).toBe(false)
    expect(isNamedSecret('TOKEN_FILE', './secrets/token.txt')).toBe(false)
    // A value with a space is no path: it is kept.
    expect(isNamedSecret('DEPLOY_PASSWORD', '/not a path')).toBe(true)
  })
})

describe('Secrets.addFromEnvironment', () => {
  it('registers nothing from an ordinary environment with git identity variables', () => {
    const registered: string[] = []
    const secrets = new Secrets(value => registered.push(value))
    secrets.addFromEnvironment({
      GIT_AUTHOR_NAME: 'root',
      GIT_AUTHOR_EMAIL: 'root@example.org',
      GIT_COMMITTER_NAME: 'root',
      HOME: '/root',
      CI: 'true',
      SSH_AUTH_SOCK: '/run/user/0/ssh-agent.socket',
      ACTIONS_STEP_DEBUG: 'false'
    })
    expect(registered).toEqual([])
    const text = '{"complete": true, "user": "root"}'
    expect(secrets.redact(text)).toBe(text)
  })

  it('registers the values of secret names', () => {
    const secrets = new Secrets()
    secrets.addFromEnvironment({
      GITHUB_TOKEN: 'ghs_0123456789abcdef',
      NPM_AUTH_TOKEN: 'npm_0123456789',
      MY_API_KEY: 'k-0123456789'
    })
    expect(secrets.values().sort()).toEqual([
      'ghs_0123456789abcdef',
      'k-0123456789',
      'npm_0123456789'
    ])
  })

  it('an explicit value (an input) is registered from 4 characters', () => {
    const secrets = new Secrets()
    secrets.add('abcd')
    secrets.add('abc')
    expect(secrets.values()).toEqual(['abcd'])
  })
})
