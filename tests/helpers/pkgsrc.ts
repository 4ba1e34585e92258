// A fixture flake with one input, for "what changed since the last good run": a local git
// repository (pkgsrc) that sets libfoo's version and how the ISO's /init behaves, locked through
// git+file as a nixpkgs would be through github:. Made from tests/fixtures/offline-iso by
// makeFixtureFlake; the other fixtures keep their flake with no inputs.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addFixturePackage, labNixEnv, makeFixtureFlake } from './lab.js'

export interface PkgsrcRelease {
  libfooVersion: string
  /** The ISO's /init variant (init.sh): "boot", or "slowinit" for 12 s more in init. */
  variant: string
}

/**
 * The image: the fixture ISO with the input's /init variant, depending on libfoo (its version
 * from the input) and on libfoo-check, whose builder fails against libfoo 1.2.
 */
const CHANGES_IMAGE = `let
          libfoo = drv {
            name = "libfoo-\${pkgsrc.libfooVersion}";
            args = [ "-c" "mkdir -p $out && echo \${pkgsrc.libfooVersion} > $out/version" ];
          };
          libfooCheck = drv {
            name = "libfoo-check";
            inherit libfoo;
            args = [ "-c" "if [ \\"$(cat $libfoo/version)\\" = 1.2 ]; then echo 'libfoo 1.2 breaks the check' >&2; exit 1; fi; mkdir -p $out" ];
          };
        in builtins.derivation ((iso { name = "boot-image-vm-changes.iso"; variant = pkgsrc.variant; }).drvAttrs // { inherit libfoo libfooCheck; })`

function git(dir: string, args: string[]): string {
  const result = spawnSync('git', args, { cwd: dir, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} in ${dir}: ${result.stderr}`)
  return result.stdout.trim()
}

function nix(dir: string, args: string[]): void {
  const result = spawnSync('nix', args, { cwd: dir, encoding: 'utf8', env: labNixEnv() })
  if (result.status !== 0) throw new Error(`nix ${args.join(' ')} in ${dir}: ${result.stderr}`)
}

export interface FlakeWithInput {
  flake: string
  pkgsrc: string
  /** The input's revision now (pkgsrc's HEAD). */
  rev(): string
  /** Commits a new release of the input and locks it (`nix flake lock --update-input`, 2.8's spelling); returns its rev. */
  release(next: PkgsrcRelease): string
  cleanup(): void
}

function writeRelease(pkgsrc: string, release: PkgsrcRelease): string {
  writeFileSync(
    join(pkgsrc, 'flake.nix'),
    `{\n  outputs = { self }: {\n    libfooVersion = "${release.libfooVersion}";\n    variant = "${release.variant}";\n  };\n}\n`
  )
  git(pkgsrc, ['add', '-A'])
  git(pkgsrc, ['commit', '-q', '-m', `libfoo ${release.libfooVersion}`])
  return git(pkgsrc, ['rev-parse', 'HEAD'])
}

/** The fixture flake with `inputs.pkgsrc.url = "git+file://…"` and changesImage, locked at first. */
export function makeFlakeWithInput(first: PkgsrcRelease): FlakeWithInput {
  const pkgsrc = mkdtempSync(join(tmpdir(), 'boot-image-vm-pkgsrc-'))
  for (const args of [
    ['init', '-q'],
    ['config', 'user.name', 'boot-image-vm tests'],
    ['config', 'user.email', 'tests@boot-image-vm.invalid'],
    ['config', 'commit.gpgsign', 'false']
  ])
    git(pkgsrc, args)
  writeRelease(pkgsrc, first)
  const flake = makeFixtureFlake()
  const file = join(flake, 'flake.nix')
  const text = readFileSync(file, 'utf8')
  if (!text.includes('outputs = { self }:')) throw new Error(`${file}: no 'outputs = { self }:'`)
  writeFileSync(
    file,
    text.replace(
      'outputs = { self }:',
      `inputs.pkgsrc.url = "git+file://${pkgsrc}";\n  outputs = { self, pkgsrc }:`
    )
  )
  addFixturePackage(flake, 'changesImage', CHANGES_IMAGE)
  const lock = (args: string[]): void => {
    nix(flake, ['flake', 'lock', ...args])
    git(flake, ['add', 'flake.lock'])
    git(flake, ['commit', '-q', '-m', 'lock pkgsrc'])
  }
  lock([])
  return {
    flake,
    pkgsrc,
    rev: () => git(pkgsrc, ['rev-parse', 'HEAD']),
    release: next => {
      const rev = writeRelease(pkgsrc, next)
      lock(['--update-input', 'pkgsrc'])
      return rev
    },
    cleanup: () => rmSync(pkgsrc, { recursive: true, force: true })
  }
}
