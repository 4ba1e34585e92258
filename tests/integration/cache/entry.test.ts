// The image cache's entry with real Nix (the lab's, root, in-process store): a path a substituter
// serves is asked about, left out of the entry, and fetched from the substituter by the import;
// what the build does not use is not imported. (A process over its time bound is killed by the
// runner: tests/unit/shared/process.test.ts.)
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { importEntry, readManifest, writeEntry } from '../../../src/cache/entry.js'
import { parsePathInfo } from '../../../src/cache/keys.js'
import { servedPaths, substituterConfig } from '../../../src/cache/substituters.js'
import { stringEnv } from '../../../src/shared/process.js'
import { deleteStorePaths, labNixEnv } from '../../helpers/lab.js'

const work = mkdtempSync(join(tmpdir(), 'boot-image-vm-cache-entry-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function sh(command: string, args: string[], env: NodeJS.ProcessEnv = labNixEnv()): string {
  const result = spawnSync(command, args, { env, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`)
  return result.stdout.trim()
}

/** `served` (put in a file:// substituter) and `top`, which refers to it. */
function makePaths(): { served: string; top: string; substituter: string; publicKey: string } {
  const nonce = randomBytes(6).toString('hex')
  const file = join(work, 'paths.nix')
  writeFileSync(
    file,
    `rec {
      served = builtins.derivation { name = "cache-entry-served"; system = "x86_64-linux";
        builder = "/bin/bash"; args = [ "-c" "echo served ${nonce} > $out" ]; };
      top = builtins.derivation { name = "cache-entry-top"; system = "x86_64-linux";
        builder = "/bin/bash"; inherit served; args = [ "-c" "echo $served ${nonce} > $out" ]; };
    }`
  )
  const served = sh('nix-build', [file, '-A', 'served', '--no-out-link'])
  const top = sh('nix-build', [file, '-A', 'top', '--no-out-link'])
  const secret = join(work, 'signing.sec')
  writeFileSync(secret, sh('nix', ['key', 'generate-secret', '--key-name', 'entry-test-1']))
  const publicKey = spawnSync('nix', ['key', 'convert-secret-to-public'], {
    env: labNixEnv(),
    input: sh('cat', [secret]),
    encoding: 'utf8'
  }).stdout.trim()
  sh('nix', ['store', 'sign', '-k', secret, served])
  const substituter = `file://${join(work, `substituter-${nonce}`)}`
  sh('nix', ['copy', '--to', substituter, served])
  return { served, top, substituter, publicKey }
}

describe('the cache entry with real Nix', () => {
  it('leaves out what the substituter serves, and the import fetches it from there', async () => {
    const { served, top, substituter, publicKey } = makePaths()
    const env = stringEnv(
      labNixEnv({
        NIX_CONFIG: `extra-substituters = ${substituter}\nextra-trusted-public-keys = ${publicKey}`
      })
    )
    const config = await substituterConfig('nix', ['show-config'], env, 10_000)
    expect(config?.substituters).toEqual([substituter])
    expect(config?.trustedKeys).toContain(publicKey)

    const answer = await servedPaths('nix', [substituter], [top, served], env, 20_000)
    expect([...answer.served]).toEqual([served])
    expect(answer.unanswered).toEqual([])

    const infos = parsePathInfo(sh('nix', ['path-info', '--json', top, served]))
    const dir = join(work, 'entry')
    const deadline = Date.now() + 30_000
    const manifest = { version: 1 as const, stored: [top], external: [served] }
    const servedInfo = infos.filter(info => info.path === served)
    expect(await writeEntry('nix', dir, manifest, servedInfo, env, deadline)).toMatch(/zstd|xz/)
    // Only top's .narinfo and NAR: the served path is described while writing, then removed.
    const narinfos = readdirSync(dir).filter(name => name.endsWith('.narinfo'))
    expect(narinfos).toEqual([`${top.split('/').pop()?.slice(0, 32)}.narinfo`])
    expect(readdirSync(join(dir, 'nar'))).toHaveLength(1)
    expect(readManifest(dir)).toEqual(manifest)

    // A fresh runner: neither path is in the store.
    deleteStorePaths([top, served])
    expect(existsSync(top) || existsSync(served)).toBe(false)
    const notUsed = await importEntry('nix', dir, new Set([served]), env, Date.now() + 30_000)
    expect(notUsed).toEqual({ imported: [], unused: [top] })
    expect(existsSync(served)).toBe(false)

    const used = await importEntry('nix', dir, new Set([top, served]), env, Date.now() + 30_000)
    expect(used).toEqual({ imported: [top], unused: [] })
    expect(existsSync(top) && existsSync(served)).toBe(true)
    // It came from the substituter: signed by its key.
    const [again] = parsePathInfo(sh('nix', ['path-info', '--json', served]))
    expect(again.signatures?.[0]).toMatch(/^entry-test-1:/)
  }, 120_000)

  it('says when a substituter does not answer', async () => {
    const answer = await servedPaths(
      'nix',
      ['http://127.0.0.1:9'],
      ['/nix/store/00000000000000000000000000000000-x'],
      stringEnv(labNixEnv()),
      20_000
    )
    expect(answer.served.size).toBe(0)
    expect(answer.unanswered).toHaveLength(1)
    expect(answer.unanswered[0]).toMatch(/^http:\/\/127\.0\.0\.1:9 \(/)
  }, 60_000)
})
