// The image cache's proof set-up, shared by tests/e2e/cache-reuse.test.ts and
// scripts/bench/cache-reuse.ts: a fixture flake copy whose bakedKeyImage depends on fresh
// cacheExpensive and cacheServed derivations (a nonce), and a signed file:// binary cache serving
// cacheServed (which then leaves the store, so a build can only get it from there).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deleteStorePaths, labNixEnv, makeFixtureFlake } from './lab.js'

export function nix(args: string[], env: NodeJS.ProcessEnv, input?: string): string {
  const result = spawnSync('nix', args, { env, encoding: 'utf8', input })
  if (result.status !== 0) throw new Error(`nix ${args.join(' ')}: ${result.stderr}`)
  return result.stdout.trim()
}

export interface BakedKeySetup {
  flake: string
  nonce: string
  /** labNixEnv with the nonce. */
  env: NodeJS.ProcessEnv
  /** Output paths of cacheExpensive and cacheServed. */
  expensive: string
  served: string
  /** The action's extra-nix-conf input: the substituter and its key. */
  extraNixConf: string
  /** The action's env additions (the nonce). */
  actionEnv: Record<string, string>
}

/** A new nonce for an existing flake copy (fresh derivations), or a new copy. */
export function setUpBakedKeyImage(flake: string = makeFixtureFlake()): BakedKeySetup {
  const nonce = randomBytes(8).toString('hex')
  const env = labNixEnv({ BOOT_IMAGE_VM_CACHE_NONCE: nonce })
  const outPath = (attr: string): string =>
    nix(['eval', '--raw', '--impure', `${flake}#${attr}.outPath`], env)
  const expensive = outPath('cacheExpensive')
  const served = outPath('cacheServed')
  nix(['build', '--impure', '--no-link', `${flake}#cacheServed`], env)
  const secret = join(flake, '..', `${nonce}-signing.sec`)
  writeFileSync(secret, nix(['key', 'generate-secret', '--key-name', `cache-test-${nonce}`], env))
  const publicKey = nix(['key', 'convert-secret-to-public'], env, readFileSync(secret, 'utf8'))
  nix(['store', 'sign', '-k', secret, served], env)
  const substituter = `file://${join(flake, '..', `${nonce}-substituter`)}`
  nix(['copy', '--to', substituter, served], env)
  deleteStorePaths([served])
  return {
    flake,
    nonce,
    env,
    expensive,
    served,
    // The lab's nix.conf sets `substituters =` (empty); root may add its own.
    extraNixConf: [
      `extra-substituters = ${substituter}`,
      `extra-trusted-public-keys = ${publicKey}`
    ].join('\n'),
    actionEnv: { BOOT_IMAGE_VM_CACHE_NONCE: nonce }
  }
}

/** Derivations whose builds started, from a run's build/events.jsonl (internal-json events). */
export function builtDerivations(reportDir: string): string[] {
  const events = readFileSync(join(reportDir, 'build/events.jsonl'), 'utf8')
  return events
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line) as { action: string; type?: number; fields?: unknown[] })
    .filter(event => event.action === 'start' && event.type === 105)
    .map(event => String(event.fields?.[0]))
}
