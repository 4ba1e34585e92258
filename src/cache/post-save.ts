// The post step's part of the image cache: save the entry main described, then record how it went
// in the local report.json and the job summary (the uploaded artifact predates the save).
import * as core from '@actions/core'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Log } from '../shared/log.js'
import type { Report } from '../model/index.js'
import { errorMessage } from '../shared/process.js'
import { writeReportFiles, renderSummary, cacheSaveLine } from '../report/index.js'
import { saveImageCache, type CacheSaveState } from './image-cache.js'

/**
 * The save of a state post has checked (save-state.ts: checkCacheSaveState), recorded in the
 * report directory post has checked. Never throws: a cache problem is a warning at most.
 */
export async function saveImageCacheFromState(
  state: CacheSaveState,
  reportDir: string,
  log: Log
): Promise<void> {
  try {
    const save = await saveImageCache(state, log)
    const file = reportDir ? join(reportDir, 'report.json') : ''
    if (file && existsSync(file)) {
      const report = JSON.parse(readFileSync(file, 'utf8')) as Report
      if (report.cache) {
        report.cache.save = save
        writeReportFiles(reportDir, report, renderSummary(report))
      }
    }
    await core.summary.addRaw(`### Image cache\n\n${cacheSaveLine(save)}\n`).write()
  } catch (error) {
    log.warning(`Image cache save: ${errorMessage(error)}`)
  }
}
