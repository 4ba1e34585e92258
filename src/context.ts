// What every stage is handed: where to say things, what is secret, and where to write.
import type { Log } from './log.js'
import type { Secrets } from './secrets.js'

export interface StageContext {
  log: Log
  secrets: Secrets
  /** The report directory's root; each stage writes under its own subdirectory as it goes. */
  reportDir: string
  /** Private scratch space for this run (under RUNNER_TEMP); never uploaded. */
  tempDir: string
  /** The environment the action was started with. */
  env: NodeJS.ProcessEnv
  /** Aborted when the job is cancelled (SIGINT/SIGTERM). */
  signal: AbortSignal
}
