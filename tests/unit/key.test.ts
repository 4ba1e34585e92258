import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createEphemeralKey, publicKeyLine } from '../../src/key.js'

describe('publicKeyLine', () => {
  it('is the public key of the .pub file, without its comment', () => {
    const key = createEphemeralKey(mkdtempSync(join(tmpdir(), 'biv-key-')))
    const pub = readFileSync(key.publicKeyPath, 'utf8').trim()
    expect(pub).toMatch(/^ssh-ed25519 \S+ boot-image-vm ephemeral key$/)
    expect(publicKeyLine(key.privateKey)).toBe(pub.split(' ').slice(0, 2).join(' '))
  })

  it('names the problem when the private key cannot be read', () => {
    expect(() => publicKeyLine('not a key')).toThrow(/the SSH private key cannot be read/)
  })
})
