// A forged image cache entry with real Nix (the lab's, root, in-process store): its manifest lists
// an extra store path in `keep` (as the devshell's environment is listed) and stores its NAR, but
// the import takes only what the restore computed this build uses: the extra path never reaches
// the store. The restore passes the image's and the devshell's build closures as `wanted`
// (restore-entry.ts, devshell-wanted.ts); this proves the entry's own list adds nothing to them.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MANIFEST, importEntry, readManifest, writeEntry } from '../../../src/cache/entry.js'
import { stringEnv } from '../../../src/process.js'
import { deleteStorePaths, labNixEnv } from '../../helpers/lab.js'

const work = mkdtempSync(join(tmpdir(), 'boot-image-vm-forged-entry-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function nixBuild(file: string, attribute: string): string {
  const result = spawnSync('nix-build', [file, '-A', attribute, '--no-out-link'], {
    env: labNixEnv(),
    encoding: 'utf8'
  })
  if (result.status !== 0) throw new Error(result.stderr)
  return result.stdout.trim()
}

describe('a forged cache entry', () => {
  it('imports only the wanted paths, never an extra path its manifest adds', async () => {
    const nonce = randomBytes(6).toString('hex')
    const file = join(work, 'paths.nix')
    writeFileSync(
      file,
      `{
        image = builtins.derivation { name = "forged-entry-image"; system = "x86_64-linux";
          builder = "/bin/bash"; args = [ "-c" "echo image ${nonce} > $out" ]; };
        extra = builtins.derivation { name = "forged-entry-extra"; system = "x86_64-linux";
          builder = "/bin/bash"; args = [ "-c" "echo planted ${nonce} > $out" ]; };
      }`
    )
    const image = nixBuild(file, 'image')
    const extra = nixBuild(file, 'extra')
    const env = stringEnv(labNixEnv())
    const dir = join(work, 'entry')
    const deadline = Date.now() + 60_000
    await writeEntry(
      'nix',
      dir,
      { version: 1, stored: [extra, image], external: [] },
      [],
      env,
      deadline
    )
    // The forgery: the manifest says the extra path is the devshell's, to be kept.
    writeFileSync(
      join(dir, MANIFEST),
      JSON.stringify({ version: 1, stored: [extra, image], external: [], keep: [extra] })
    )
    expect(readManifest(dir)?.keep).toEqual([extra])

    deleteStorePaths([image, extra])
    expect(existsSync(image) || existsSync(extra)).toBe(false)
    const outcome = await importEntry('nix', dir, new Set([image]), env, Date.now() + 60_000)
    expect(outcome).toEqual({ imported: [image], unused: [extra] })
    expect(existsSync(image)).toBe(true)
    expect(existsSync(extra)).toBe(false)
  }, 120_000)
})
