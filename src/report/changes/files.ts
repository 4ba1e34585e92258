// changes.json and changes.md in the report directory (so in the artifact): every input, commit and
// package change since the last good run. A failed write is a warning, never the run's failure.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Log } from '../../shared/log.js'
import type { ImageChanges } from '../../model/index.js'
import { errorMessage } from '../../shared/process.js'
import { CHANGES_JSON, CHANGES_MD, changesMarkdown } from './render.js'

export function writeChangesFiles(
  reportDir: string,
  changes: ImageChanges | undefined,
  log?: Log
): void {
  if (!changes) return
  try {
    writeFileSync(join(reportDir, CHANGES_JSON), JSON.stringify(changes, null, 2) + '\n', {
      mode: 0o644
    })
    writeFileSync(join(reportDir, CHANGES_MD), changesMarkdown(changes), { mode: 0o644 })
  } catch (error) {
    log?.warning(`${CHANGES_JSON} and ${CHANGES_MD} were not written: ${errorMessage(error)}`)
  }
}
