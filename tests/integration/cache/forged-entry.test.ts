// A forged image cache entry with real Nix (the lab's, root, in-process store): its manifest lists
// an extra store path in `keep` (as the devshell's environment is listed) and stores its NAR, but
// the import takes only what the restore computed this build uses: the extra path never reaches
// the store. The restore passes the image's and the devshell's build closures as `wanted`
// (restore-entry.ts, devshell-wanted.ts); this proves the entry's own list adds nothing to them,
// and that the devshell's part comes from evaluating the devshell, only when the entry has one.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { devshellWanted } from '../../../src/cache/devshell-wanted.js'
import { MANIFEST, importEntry, readManifest, writeEntry } from '../../../src/cache/entry.js'
import type { NixInstallation } from '../../../src/model/index.js'
import { stringEnv } from '../../../src/shared/process.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { capabilitiesFor, parseNixVersion } from '../../../src/setup/index.js'
import {
  addFixturePackage,
  deleteStorePaths,
  labNixEnv,
  makeFixtureFlake
} from '../../helpers/lab.js'

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

/** The lab's Nix as setup would describe it (in-process store, root). */
function labNix(): NixInstallation {
  const printed = spawnSync('nix', ['--version'], { encoding: 'utf8' }).stdout
  const { version, variant } = parseNixVersion(printed)
  const capabilities = capabilitiesFor(version, variant)
  return { nixPath: 'nix', version, variant, capabilities, env: {}, storeMode: 'in-process' }
}

function stageContext(): StageContext {
  const quiet = () => undefined
  return {
    log: {
      info: quiet,
      echo: quiet,
      debug: quiet,
      warning: quiet,
      error: quiet,
      group: (_, f) => f()
    },
    secrets: new Secrets(),
    reportDir: mkdtempSync(join(work, 'report-')),
    tempDir: mkdtempSync(join(work, 'temp-')),
    env: labNixEnv(),
    signal: new AbortController().signal
  }
}

describe("the devshell's part of what the import may take", () => {
  it("is the devshell's own build closure, evaluated only when the entry holds a devshell part", async () => {
    const flake = makeFixtureFlake()
    const nonce = randomBytes(6).toString('hex')
    addFixturePackage(
      flake,
      'devTool',
      `drv { name = "dev-tool"; nonce = "${nonce}"; args = [ "-c" "echo $nonce > $out" ]; }`
    )
    addFixturePackage(
      flake,
      'toolShell',
      `drv { name = "tool-shell"; tool = self.packages.\${system}.devTool; args = [ "-c" "exit 1" ]; }`
    )
    const tool = spawnSync('nix', ['eval', '--raw', `${flake}#devTool.outPath`], {
      env: labNixEnv(),
      encoding: 'utf8'
    }).stdout
    expect(tool).toMatch(/^\/nix\/store\/.*-dev-tool$/)
    const request = {
      flake,
      image: 'bootImage',
      keyEnv: {},
      devshell: 'toolShell',
      buildDir: join(work, 'build'),
      timeoutSeconds: 60
    }
    const entry = join(work, `devshell-entry-${nonce}`)
    mkdirSync(entry, { recursive: true })
    const manifest = (keep?: string[]) =>
      writeFileSync(
        join(entry, MANIFEST),
        JSON.stringify({ version: 1, stored: [], external: [], keep })
      )
    const env = stringEnv(labNixEnv())
    const wanted = () =>
      devshellWanted(
        labNix(),
        env,
        request,
        { dir: entry, deadline: Date.now() + 60_000 },
        stageContext()
      )

    manifest()
    expect(await wanted()).toEqual([])
    // Whatever the manifest names, the answer is the devshell's own closure.
    manifest(['/nix/store/00000000000000000000000000000000-planted'])
    const found = await wanted()
    expect(found).toContain(tool)
    expect(found).not.toContain('/nix/store/00000000000000000000000000000000-planted')
  }, 120_000)
})
