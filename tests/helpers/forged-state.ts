// The state a `::save-state` line printed by code the action runs could hand the post step: every
// value points outside the action's run directory — at files that must survive, a program that
// must not run, a process (the caller's) that must not be signalled. tests/unit/post.test.ts hands
// it to post in-process, tests/e2e/post-state.test.ts to the bundled post step.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { STATE } from '../../src/runner/state.js'

export const FORGED_STORE_PATH = '/nix/store/0a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-forged'

export interface ForgedState {
  /** Holds keys/id_ed25519 and secret.txt: nothing in it may be deleted or uploaded. */
  victim: string
  /** Written by the fake nix the state names, should post ever run it. */
  marker: string
  /** State name → value, as main would have saved it. */
  state: Record<string, string>
}

/** Makes the victim and the fake nix under scratch; the qemu pid is pidToSpare. */
export function forgedState(scratch: string, pidToSpare: number): ForgedState {
  const victim = join(scratch, 'victim')
  mkdirSync(join(victim, 'keys'), { recursive: true })
  writeFileSync(join(victim, 'keys', 'id_ed25519'), 'not to be deleted\n')
  writeFileSync(join(victim, 'secret.txt'), 'not to be uploaded\n')
  const marker = join(scratch, 'ran')
  const fakeNix = join(scratch, 'nix')
  writeFileSync(fakeNix, `#!/bin/sh\necho "$@" > ${marker}\n`, { mode: 0o755 })
  const imageCache = {
    key: 'boot-image-vm-v2-x86_64-linux-forged',
    hit: false,
    dir: victim,
    nixPath: fakeNix,
    nixEnv: {},
    roots: [FORGED_STORE_PATH],
    drvPaths: [`${FORGED_STORE_PATH}.drv`],
    kind: 'image',
    substituters: [],
    trustedKeys: [],
    maxBytes: 1024 * 1024 * 1024,
    timeoutSeconds: 30
  }
  const state = {
    [STATE.reportDir]: victim,
    [STATE.keyDir]: '/',
    [STATE.cleanupPaths]: JSON.stringify([join(victim, 'secret.txt'), '/']),
    [STATE.qemuPid]: String(pidToSpare),
    [STATE.imageCache]: JSON.stringify(imageCache),
    [STATE.baselineFile]: join(victim, 'secret.txt'),
    [STATE.baselineKey]: 'boot-image-vm-baseline-v2/octo-org%2Fboot-image-vm-test/main/forged'
  }
  return { victim, marker, state }
}
