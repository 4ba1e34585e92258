// The `ssh-key` input: only a usable private key gets through, and the run keeps the user's file
// where it is (no copy), writing only its public half for the build. Real keys made by ssh2.
import ssh2 from 'ssh2'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { INPUT_DEFAULTS, parseInputs, type InputName } from '../../../src/inputs/index.js'
import { checkPrivateKeyFile, providedKey, publicKeyLine } from '../../../src/shared/key.js'

const dir = mkdtempSync(join(tmpdir(), 'ssh-key-input-'))
const pair = ssh2.utils.generateKeyPairSync('ed25519')
const privatePath = join(dir, 'id_ed25519')
writeFileSync(privatePath, pair.private, { mode: 0o600 })

function inputs(given: Partial<Record<InputName, string>>) {
  return parseInputs(name => given[name] ?? INPUT_DEFAULTS[name])
}

describe("input 'ssh-key'", () => {
  it('takes an unencrypted private key and makes its path absolute', () => {
    expect(inputs({}).sshKey).toBe('')
    expect(checkPrivateKeyFile(privatePath)).toEqual({ path: privatePath })
    expect(inputs({ 'ssh-key': privatePath }).sshKey).toBe(privatePath)
  })

  it('refuses a public key, a key with a passphrase, a file that is no key and a missing file', () => {
    const files = {
      public: [pair.public, /holds a public key, not a private one/],
      encrypted: [
        ssh2.utils.generateKeyPairSync('ed25519', {
          passphrase: 'x',
          cipher: 'aes256-ctr',
          rounds: 16
        }).private,
        /is not an unencrypted SSH private key/
      ],
      text: ['hello\n', /is not an unencrypted SSH private key/]
    } as const
    for (const [name, [content, message]] of Object.entries(files)) {
      writeFileSync(join(dir, name), content)
      expect(() => inputs({ 'ssh-key': join(dir, name) }), name).toThrow(
        new RegExp(`^Input 'ssh-key': '.*${name}' ${message.source}`)
      )
    }
    expect(() => inputs({ 'ssh-key': join(dir, 'missing') })).toThrow(
      /^Input 'ssh-key': '.*missing' cannot be read \(ENOENT\)/
    )
  })

  it("is used where it is; only its public half is written, in the run's key directory", () => {
    const runTemp = mkdtempSync(join(tmpdir(), 'ssh-key-run-'))
    const key = providedKey(privatePath, runTemp)
    expect(key.privateKeyPath).toBe(privatePath)
    expect(key.privateKey).toBe(pair.private)
    expect(readdirSync(key.dir)).toEqual(['provided.pub'])
    expect(readFileSync(key.publicKeyPath, 'utf8')).toMatch(
      new RegExp(`^${publicKeyLine(pair.private).replace(/[+/]/g, '\\$&')} `)
    )
    expect(readFileSync(key.publicKeyPath, 'utf8')).not.toContain('PRIVATE')
  })
})
