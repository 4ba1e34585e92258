// The image cache's proof set-up, shared by tests/e2e/cache-reuse.test.ts, the runner-image leg in
// tests/e2e/runner-image.test.ts and scripts/bench/cache-reuse.ts: a fixture flake copy whose
// bakedKeyImage depends on fresh cacheExpensive and cacheServed derivations (a nonce), and a signed
// file:// binary cache serving cacheServed (which then leaves the store, so a build can only get
// it from there). It is made where the action's nix will use it: this machine's lab store
// (hostPlace) or a runner image as `runner`, through its daemon (imagePlace).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readManifest } from '../../src/cache/entry.js'
import { deleteStorePaths, labNixEnv, makeFixtureFlake } from './lab.js'
import { GUEST_WORKSPACE, RUNNER_LAB_ENV, type RunnerImage } from './runner-image.js'

export function nix(args: string[], env: NodeJS.ProcessEnv, input?: string): string {
  const result = spawnSync('nix', args, { env, encoding: 'utf8', input })
  if (result.status !== 0) throw new Error(`nix ${args.join(' ')}: ${result.stderr}`)
  return result.stdout.trim()
}

/** Where the set-up's nix calls run, and the paths as that nix sees them. */
export interface SetupPlace {
  flake: string
  /** A directory the set-up writes the signing key and the substituter into. */
  scratch: string
  /** nix with vars added to its environment; its stdout, trimmed; throws on failure. */
  nix(args: string[], vars: Record<string, string>, input?: string): string
  writeFile(path: string, text: string): void
  /** Removes store paths, so that a build can only get them from the substituter. */
  deletePaths(paths: string[]): void
}

/** This machine's lab store (NIX_CONF_DIR=.lab/nix-conf), the substituter beside the flake. */
export function hostPlace(flake: string = makeFixtureFlake()): SetupPlace {
  return {
    flake,
    scratch: join(flake, '..'),
    nix: (args, vars, input) => nix(args, labNixEnv(vars), input),
    writeFile: (path, text) => writeFileSync(path, text),
    deletePaths: deleteStorePaths
  }
}

/** Where imagePlace keeps the substituter inside a runner image (a later leg copies it in). */
export const IMAGE_SCRATCH = '/home/runner/boot-image-vm-cache-test'

/** A runner image's store through its daemon, as `runner` (trusted), on its workspace flake. */
export function imagePlace(image: RunnerImage): SetupPlace {
  const run = (args: string[], input?: string): string => {
    const result = image.exec(args, { input })
    if (result.status !== 0)
      throw new Error(`in the ${image.suite} image, ${args.join(' ')}: ${result.out}`)
    return result.stdout.trim()
  }
  return {
    flake: GUEST_WORKSPACE,
    scratch: IMAGE_SCRATCH,
    nix: (args, vars, input) => {
      const env = Object.entries({ ...RUNNER_LAB_ENV, ...vars }).map(([k, v]) => `${k}=${v}`)
      return run([...env, 'nix', ...args], input)
    },
    writeFile: (path, text) => {
      run(['mkdir', '-p', join(path, '..')])
      run(['sh', '-c', 'cat > "$1"', 'sh', path], text)
    },
    deletePaths: paths => void run(['nix', 'store', 'delete', ...paths])
  }
}

export interface BakedKeySetup {
  flake: string
  nonce: string
  /** labNixEnv with the nonce (this machine's lab store). */
  env: NodeJS.ProcessEnv
  /** Output paths of cacheExpensive and cacheServed. */
  expensive: string
  served: string
  /** The file:// binary cache's directory, as the place's nix sees it. */
  substituter: string
  /** The action's extra-nix-conf input: the substituter and its key. */
  extraNixConf: string
  /** The action's env additions (the nonce, and the rounds when given). */
  actionEnv: Record<string, string>
}

/**
 * A new nonce (fresh derivations) for a place's flake: the served path built, signed, copied to
 * a file:// binary cache and deleted. A string is a flake copy on this machine.
 */
export function setUpBakedKeyImage(
  where: SetupPlace | string = hostPlace(),
  options: { rounds?: number } = {}
): BakedKeySetup {
  const place = typeof where === 'string' ? hostPlace(where) : where
  const nonce = randomBytes(8).toString('hex')
  const vars: Record<string, string> = { BOOT_IMAGE_VM_CACHE_NONCE: nonce }
  // cacheExpensive's rounds (the fixture's default 1000 unless given): the action's runs need the
  // same value (actionEnv) to evaluate the same derivation.
  if (options.rounds !== undefined) vars.BOOT_IMAGE_VM_CACHE_ROUNDS = String(options.rounds)
  const run = (args: string[], input?: string): string => place.nix(args, vars, input)
  const outPath = (attr: string): string =>
    run(['eval', '--raw', '--impure', `${place.flake}#${attr}.outPath`])
  const expensive = outPath('cacheExpensive')
  const served = outPath('cacheServed')
  run(['build', '--impure', '--no-link', `${place.flake}#cacheServed`])
  const secret = join(place.scratch, `${nonce}-signing.sec`)
  const secretKey = run(['key', 'generate-secret', '--key-name', `cache-test-${nonce}`])
  place.writeFile(secret, secretKey)
  const publicKey = run(['key', 'convert-secret-to-public'], secretKey)
  run(['store', 'sign', '-k', secret, served])
  const substituter = join(place.scratch, `${nonce}-substituter`)
  run(['copy', '--to', `file://${substituter}`, served])
  place.deletePaths([served])
  return {
    flake: place.flake,
    nonce,
    env: labNixEnv(vars),
    expensive,
    served,
    substituter,
    // The lab's and the runner image's nix.conf set `substituters =` (empty); root may add its own.
    extraNixConf: [
      `extra-substituters = file://${substituter}`,
      `extra-trusted-public-keys = ${publicKey}`
    ].join('\n'),
    actionEnv: vars
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

/** An image cache entry (the fake service's tar), unpacked: its manifest's stored paths and the
 *  store paths that have a .narinfo in it. */
export function unpackEntry(
  data: Buffer,
  dir: string
): { stored: string[]; narinfoPaths: string[] } {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'entry.tar'), data)
  const tar = spawnSync('tar', ['-xf', join(dir, 'entry.tar'), '-C', dir], { encoding: 'utf8' })
  if (tar.status !== 0) throw new Error(`tar -xf the entry: ${tar.stderr}`)
  const entryDir = join(dir, '.boot-image-vm-nix-cache')
  const narinfoPaths = readdirSync(entryDir)
    .filter(name => name.endsWith('.narinfo'))
    .map(name => /^StorePath:\s*(\S+)/m.exec(readFileSync(join(entryDir, name), 'utf8'))?.[1] ?? '')
  return { stored: readManifest(entryDir)?.stored ?? [], narinfoPaths }
}
