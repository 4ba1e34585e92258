// What every stage is handed: where to say things, what is secret, and where to write.
import type { ChildEnvPolicy } from './child-env.js'
import type { Log } from './log.js'
import type { Secrets } from './secrets.js'

export interface StageContext {
  log: Log
  secrets: Secrets
  /** The report directory's root; each stage writes under its own subdirectory as it goes. */
  reportDir: string
  /** Private scratch space for this run (under RUNNER_TEMP); never uploaded. */
  tempDir: string
  /** The environment the action was started with (children get src/shared/child-env.ts's part of it). */
  env: NodeJS.ProcessEnv
  /** What the inputs add to the children's allow-list; absent: none (the default key variable). */
  childEnv?: ChildEnvPolicy
  /** Aborted when the job is cancelled (SIGINT/SIGTERM). */
  signal: AbortSignal
}
