import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import ssh2 from 'ssh2'
import { createEphemeralKey, publicKeyLine, readableKeyPair } from '../../../src/shared/key.js'

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

/** A pair ssh2 1.17 really made: its public key lost its leading zero byte (31 bytes). */
const MALFORMED_PRIVATE = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMgAAAAtz',
  'c2gtZWQyNTUxOQAAAB/5FtGAehIcPNzcoPqdhi7IKfR7Ig1SWbI9oLyYs5iDAAAA',
  'oKhfmnOoX5pzAAAAC3NzaC1lZDI1NTE5AAAAH/kW0YB6Ehw83Nyg+p2GLsgp9Hsi',
  'DVJZsj2gvJizmIMAAAA/tkxzI5u0Wlf/j8SGm2vg08Wry/rZ+6lTdbnkaMh+/jH5',
  'FtGAehIcPNzcoPqdhi7IKfR7Ig1SWbI9oLyYs5iDAAAAG2Jvb3QtaW1hZ2Utdm0g',
  'ZXBoZW1lcmFsIGtleQECAwQ=',
  '-----END OPENSSH PRIVATE KEY-----',
  ''
].join('\n')

describe('the ephemeral key', () => {
  it('is made again when ssh2 makes one it cannot read back', () => {
    expect(ssh2.utils.parseKey(MALFORMED_PRIVATE)).toBeInstanceOf(Error)
    const good = ssh2.utils.generateKeyPairSync('ed25519')
    const made = [{ private: MALFORMED_PRIVATE, public: 'ssh-ed25519 AAAAH' }, good]
    expect(readableKeyPair(() => made.shift()!)).toBe(good)
  })

  it('is always readable: 2,000 keys (ssh2 alone fails ~1 in 270, so ~7 here)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'biv-keys-'))
    for (let i = 0; i < 2000; i++) {
      const key = createEphemeralKey(join(dir, String(i % 4)))
      expect(ssh2.utils.parseKey(key.privateKey)).not.toBeInstanceOf(Error)
    }
  })
})
