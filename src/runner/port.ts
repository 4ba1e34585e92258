// What main and post use of the runner, as one interface: the default is @actions/core (and the
// process's environment); a test hands its own and reads back what the step said (as
// actions/cache's state provider and typescript-action's fixtures do).
import * as core from '@actions/core'
import { actionsLog, type Log } from '../shared/log.js'

export interface RunnerPort {
  /** An input as the runner passed it (INPUT_*): '' when not given. */
  getInput(name: string): string
  /** State for the post step, written at once (main may be killed any time). */
  saveState(name: string, value: string): void
  /** State main saved; '' when it saved none. */
  getState(name: string): string
  setOutput(name: string, value: string): void
  /** A value the runner masks in every later log line. */
  setSecret(value: string): void
  /** Markdown appended to the job summary. */
  writeSummary(markdown: string): Promise<void>
  /** A variable for this process and every later step. */
  exportVariable(name: string, value: string): void
  /** A directory put first on PATH, for this process and every later step. */
  addPath(dir: string): void
  /** The step fails with this message (the run goes on). */
  setFailed(message: string): void
  /** The runner's cancel (SIGINT, then SIGTERM): `listener` hears each signal once. */
  onCancel(listener: (signal: NodeJS.Signals) => void): void
  log: Log
  /** The environment the step was started with. */
  env: NodeJS.ProcessEnv
}

/** The runner itself. */
export const actionsRunner: RunnerPort = {
  getInput: name => core.getInput(name),
  saveState: (name, value) => core.saveState(name, value),
  getState: name => core.getState(name),
  setOutput: (name, value) => core.setOutput(name, value),
  setSecret: value => core.setSecret(value),
  writeSummary: async markdown => {
    await core.summary.addRaw(markdown).write()
  },
  exportVariable: (name, value) => core.exportVariable(name, value),
  addPath: dir => core.addPath(dir),
  setFailed: message => core.setFailed(message),
  onCancel: listener => {
    process.once('SIGINT', listener)
    process.once('SIGTERM', listener)
  },
  log: actionsLog,
  env: process.env
}
