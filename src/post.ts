// The post step: undo what main left behind — a QEMU it could not stop, the ephemeral key, the
// access-token configuration. Housekeeping never fails the job, and the step always ends.
import * as core from '@actions/core'
import { rmSync } from 'node:fs'
import { saveImageCacheFromState } from './cache/post-save.js'
import { cleanupSetup } from './nix/setup.js'
import { actionsLog } from './log.js'
import { errorMessage } from './process.js'
import { saveBaseline } from './report/baseline-store.js'
import { STATE } from './state.js'
import { stopLeftoverQemu } from './vm/leftover.js'

export async function run(): Promise<void> {
  try {
    const pid = Number(core.getState(STATE.qemuPid))
    if (pid > 0) {
      const outcome = await stopLeftoverQemu(pid)
      if (outcome !== 'not running') core.info(`QEMU (pid ${pid}): ${outcome}`)
    }
    const keyDir = core.getState(STATE.keyDir)
    if (keyDir) rmSync(keyDir, { recursive: true, force: true })
    const cleanup = core.getState(STATE.cleanupPaths)
    if (cleanup) cleanupSetup(JSON.parse(cleanup) as string[])
  } catch (error) {
    core.warning(`Post step clean-up: ${errorMessage(error)}`)
  }
  // The image cache, even when a later stage failed (main handed over what was built).
  await saveImageCacheFromState(
    core.getState(STATE.imageCache),
    core.getState(STATE.reportDir),
    actionsLog
  )
  // A passing run becomes the baseline of the next (main decided whether it may).
  const baselineFile = core.getState(STATE.baselineFile)
  const baselineKey = core.getState(STATE.baselineKey)
  if (baselineFile && baselineKey) {
    core.info(`Baseline: ${await saveBaseline(baselineFile, baselineKey, actionsLog)}`)
  }
}
