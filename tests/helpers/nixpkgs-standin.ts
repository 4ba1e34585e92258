// A fixture flake whose `nixpkgs` input is tests/fixtures/nixpkgs-standin (a stand-in for nixpkgs
// that wraps the host's QEMU and OVMF), locked: what `qemu: nix` resolves through --inputs-from.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { labNixEnv, makeFixtureFlake, REPO_ROOT } from './lab.js'

export const STANDIN_SOURCE: string = join(REPO_ROOT, 'tests', 'fixtures', 'nixpkgs-standin')

const made: string[] = []
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, env: labNixEnv(), encoding: 'utf8' })
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} in ${cwd}: ${result.stderr}`)
}

export interface StandinOptions {
  /** The stand-in's qemu_kvm fails after a few seconds (a provisioning that fails mid-build). */
  brokenQemu?: boolean
  /** The stand-in's qemu_kvm takes ten seconds to build (the benchmark's slow substitution). */
  slowQemu?: boolean
}

/** A fresh copy of the offline fixture flake with `inputs.nixpkgs` = a copy of the stand-in. */
export function makeStandinFlake(options: StandinOptions = {}): { flake: string; standin: string } {
  const standin = mkdtempSync(join(tmpdir(), 'nixpkgs-standin-'))
  made.push(standin)
  cpSync(STANDIN_SOURCE, standin, { recursive: true })
  const part = options.brokenQemu ? 'qemu-broken' : options.slowQemu ? 'qemu-slow' : 'qemu'
  // The slow part gets a fresh derivation each time (a nonce), so it is slow every time.
  const nonce = options.slowQemu ? ` nonce = "${randomBytes(8).toString('hex')}";` : ''
  const standinFlake = join(standin, 'flake.nix')
  const standinText = readFileSync(standinFlake, 'utf8')
  writeFileSync(standinFlake, standinText.replace('part = "qemu";', `part = "${part}";${nonce}`))
  const flake = makeFixtureFlake()
  const file = join(flake, 'flake.nix')
  const text = readFileSync(file, 'utf8')
  const marker = '  outputs = { self }:'
  if (!text.includes(marker)) throw new Error(`${file} has no '${marker}'`)
  writeFileSync(
    file,
    text.replace(
      marker,
      `  inputs.nixpkgs.url = "path:${standin}";\n  outputs = { self, nixpkgs }:`
    )
  )
  run('nix', ['flake', 'lock'], flake)
  run('git', ['add', '-A'], flake)
  run('git', ['commit', '-qm', 'nixpkgs stand-in'], flake)
  return { flake, standin }
}
