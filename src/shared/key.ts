// The ephemeral root key: made for one run, baked into the image (or offered to it at boot), used by
// SSH, deleted by post.
import ssh2 from 'ssh2'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

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

/** Whether the text is a private key (ssh2 reads public keys too); throws when it is no key. */
function isPrivateKey(text: string): boolean {
  publicKeyLine(text)
  const parsed = ssh2.utils.parseKey(text)
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  return !(key instanceof Error) && key.isPrivateKey()
}

export function createEphemeralKey(parentDir: string): EphemeralKey {
  const dir = join(parentDir, 'ssh-key')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const pair = readableKeyPair()
  const privateKeyPath = join(dir, 'id_ed25519')
  const publicKeyPath = `${privateKeyPath}.pub`
  writeFileSync(privateKeyPath, pair.private, { mode: 0o600 })
  writeFileSync(publicKeyPath, pair.public + '\n', { mode: 0o600 })
  return { dir, privateKeyPath, publicKeyPath, privateKey: pair.private }
}

/**
 * An ed25519 pair that ssh2 itself can read back. About 1 in 270 of ssh2's own ed25519 pairs
 * (1.17) is malformed: a public key that begins with a zero byte loses it (31 bytes, "AAAAH…"),
 * so the key cannot be parsed and the guest would reject it (measured: 74 of 20,000). That was
 * the intermittent boot-failed in ~2 s, "the SSH private key cannot be read". Such a pair is
 * made again; the odds of ten in a row are ~1e-24.
 */
export function readableKeyPair(
  generate = () =>
    ssh2.utils.generateKeyPairSync('ed25519', { comment: 'boot-image-vm ephemeral key' })
): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = generate()
    const parsed = ssh2.utils.parseKey(pair.private)
    if (!(parsed instanceof Error)) return pair
    if (attempt === 10) throw new Error(`ssh2 made no readable ed25519 key: ${parsed.message}`)
  }
}

/**
 * The user's own key (input `ssh-key`) in the ephemeral key's place: its public half is written
 * beside where the ephemeral one would be (post deletes that directory); the private key stays
 * where the user put it and is never copied.
 */
export function providedKey(privateKeyPath: string, parentDir: string): EphemeralKey {
  const privateKey = readFileSync(privateKeyPath, 'utf8')
  const dir = join(parentDir, 'ssh-key')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const publicKeyPath = join(dir, 'provided.pub')
  writeFileSync(publicKeyPath, `${publicKeyLine(privateKey)} boot-image-vm ssh-key input\n`, {
    mode: 0o600
  })
  return { dir, privateKeyPath, publicKeyPath, privateKey }
}

/** The absolute path of a private key SSH can use without a passphrase, else what is wrong. */
export function checkPrivateKeyFile(path: string): { path: string } | { problem: string } {
  const absolute = resolve(path)
  let text: string
  try {
    text = readFileSync(absolute, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return {
      problem: `'${path}' cannot be read (${code ?? 'error'}); give the path of a private key file (e.g. written from a secret).`
    }
  }
  try {
    if (!isPrivateKey(text)) {
      return {
        problem: `'${path}' holds a public key, not a private one; give the private half (the file without .pub).`
      }
    }
  } catch (error) {
    // ssh2's reason names the format or a missing passphrase, never the key's content.
    return {
      problem: `'${path}' is not an unencrypted SSH private key (${error instanceof Error ? error.message : String(error)}); give an OpenSSH or PEM private key without a passphrase.`
    }
  }
  return { path: absolute }
}
