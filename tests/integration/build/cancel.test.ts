// A cancelled build is ended by its owner: the build stage's abort signal reaches its `nix build`
// through the runner, which signals that nix's own process group (and nothing else); Nix kills
// its builder, and the stage returns at once. Real Nix (the lab's: root, in-process store, so the
// builder is Nix's own child); on a runner the daemon builds, and ends the build when the client goes.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { consoleLog } from '../../../src/shared/log.js'
import type { NixInstallation } from '../../../src/model/index.js'
import { buildImage } from '../../../src/build/stage.js'
import { capabilitiesFor, parseNixVersion } from '../../../src/setup/capabilities.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { addFixturePackage, labNixEnv, makeFixtureFlake } from '../../helpers/lab.js'
import { waitForProcess } from '../../helpers/processes.js'

const NIX = '/usr/bin/nix'

function installation(): NixInstallation {
  const { version, variant } = parseNixVersion(
    spawnSync(NIX, ['--version'], { encoding: 'utf8' }).stdout
  )
  const capabilities = capabilitiesFor(version, variant)
  return { nixPath: NIX, version, variant, capabilities, env: {}, storeMode: 'in-process' }
}

/** A process's parent and process group, from /proc/<pid>/stat (undefined once it is gone). */
function stat(pid: number): { ppid: number; pgrp: number; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const [state, ppid, pgrp] = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { state, ppid: Number(ppid), pgrp: Number(pgrp) }
  } catch {
    return undefined
  }
}

const alive = (pid: number): boolean => (stat(pid)?.state ?? 'Z') !== 'Z'

function groupMembers(group: number): number[] {
  return readdirSync('/proc')
    .filter(name => /^\d+$/.test(name))
    .map(Number)
    .filter(pid => stat(pid)?.pgrp === group && alive(pid))
}

let flake: string
/** A sleep no other process has: the builder is found by it. */
const SLEEP = `417.${randomBytes(3).readUIntBE(0, 3)}`

beforeAll(() => {
  flake = makeFixtureFlake()
  addFixturePackage(
    flake,
    'sleeper',
    `drv { name = "sleeper"; args = [ "-c" "echo building; sleep ${SLEEP}; echo > $out" ]; }`
  )
})

describe('a cancelled nix build', () => {
  it("is killed by its owner: nix's process group ends, the builder with it, and the stage returns at once", async () => {
    const cancel = new AbortController()
    const ctx: StageContext = {
      log: consoleLog(() => undefined),
      secrets: new Secrets(),
      reportDir: mkdtempSync(join(tmpdir(), 'boot-image-vm-cancel-')),
      tempDir: mkdtempSync(join(tmpdir(), 'boot-image-vm-cancel-temp-')),
      env: labNixEnv(),
      signal: cancel.signal
    }
    const building = buildImage(
      installation(),
      { flake, image: 'sleeper', context: 'host', env: {}, dir: join(ctx.reportDir, 'build') },
      ctx
    )
    const builder = await waitForProcess(['sleep', SLEEP], 120_000)
    // Up from the builder to the `nix build` the runner started (this process's child).
    let nixPid = builder
    while (stat(nixPid) && stat(nixPid)!.ppid !== process.pid) nixPid = stat(nixPid)!.ppid
    expect(readFileSync(`/proc/${nixPid}/cmdline`, 'utf8')).toMatch(/nix\0build\0/)
    // It leads a process group of its own: ending that group ends nothing of the test's.
    expect(stat(nixPid)!.pgrp).toBe(nixPid)
    expect(nixPid).not.toBe(stat(process.pid)!.pgrp)

    const cancelled = Date.now()
    cancel.abort()
    const result = await building
    const tookMs = Date.now() - cancelled
    expect(result.status).toBe('build-failed')
    // Nix ends on SIGTERM in well under a second here; the runner's SIGKILL would come at 5 s.
    expect(tookMs).toBeLessThan(15_000)
    expect(groupMembers(nixPid)).toEqual([])
    expect(alive(builder)).toBe(false)
    console.log(`[bench] cancelled nix build returned ${tookMs} ms after the abort`)
  }, 180_000)
})
