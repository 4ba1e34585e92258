// The post step's part of the image cache: save the entry main described, then record how it went
// in the local report.json and the job summary (the uploaded artifact predates the save).
import * as core from '@actions/core'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Log } from '../log.js'
import type { Report } from '../model.js'
import { errorMessage } from '../process.js'
import { writeReportFiles, renderSummary, cacheSaveLine } from '../report/index.js'
import { saveImageCache, type CacheSaveState } from './image-cache.js'

/** Never throws: a cache problem is a warning at most. */
export async function saveImageCacheFromState(
  rawState: string,
  reportDir: string,
  log: Log
): Promise<void> {
  if (!rawState) return
  try {
    const save = await saveImageCache(JSON.parse(rawState) as CacheSaveState, log)
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
