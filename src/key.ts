// The ephemeral root key: made for one run, baked into the image (or offered to it at boot), used by
// SSH, deleted by post.
import ssh2 from 'ssh2'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface EphemeralKey {
  dir: string
  privateKeyPath: string
  publicKeyPath: string
  privateKey: string
}

/** The OpenSSH public key line ("ssh-ed25519 AAAA…") of a private key. */
export function publicKeyLine(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey)
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  if (key instanceof Error) throw new Error(`the SSH private key cannot be read: ${key.message}`)
  return `${key.type} ${key.getPublicSSH().toString('base64')}`
}

export function createEphemeralKey(parentDir: string): EphemeralKey {
  const dir = join(parentDir, 'ssh-key')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'boot-image-vm ephemeral key' })
  const privateKeyPath = join(dir, 'id_ed25519')
  const publicKeyPath = `${privateKeyPath}.pub`
  writeFileSync(privateKeyPath, pair.private, { mode: 0o600 })
  writeFileSync(publicKeyPath, pair.public + '\n', { mode: 0o600 })
  return { dir, privateKeyPath, publicKeyPath, privateKey: pair.private }
}
