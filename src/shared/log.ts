// Where stages say things. In Actions this is @actions/core (annotations, groups); on a laptop,
// plain prefixed lines. Stages only ever see this interface.
import * as core from '@actions/core'
import { echoText, ownText } from './echo.js'

export interface Annotation {
  title?: string
}

export interface Log {
  info(message: string): void
  /**
   * Text the action did not write (Nix, builders, the console, probe and test output, devshell
   * values, apt): every line labelled `[source]`, controls stripped, capped, never a command.
   */
  echo(source: string, text: string): void
  debug(message: string): void
  /** A warning annotation in Actions. */
  warning(message: string, annotation?: Annotation): void
  /** An error annotation in Actions. */
  error(message: string, annotation?: Annotation): void
  /** A collapsible group in the job log around one stage. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

// info is guarded too: the action's own messages may quote untrusted text (a reason, a path).
// One core.info per message, so a stop-commands pair is never split by another line.
export const actionsLog: Log = {
  info: message => core.info(ownText(message).join('\n')),
  echo: (source, text) => core.info(echoText(source, text).join('\n')),
  debug: message => core.debug(message),
  warning: (message, annotation) => core.warning(message, annotation ?? {}),
  error: (message, annotation) => core.error(message, annotation ?? {}),
  group: (name, fn) => core.group(name, fn)
}

/** The command line's log (stderr). Guarded as in Actions: the CLI may run inside a `run:` step. */
export function consoleLog(
  write: (line: string) => void = line => process.stderr.write(line + '\n')
): Log {
  const titled = (level: string, message: string, annotation?: Annotation): string =>
    `${level}: ${annotation?.title ? annotation.title + ': ' : ''}${message}`
  // One line per write, in one synchronous loop: nothing interleaves with a stop-commands pair.
  const say = (lines: string[]): void => lines.forEach(line => write(line))
  return {
    info: message => say(ownText(message)),
    echo: (source, text) => say(echoText(source, text)),
    debug: message => {
      if (process.env.BOOT_IMAGE_VM_DEBUG) say(ownText(`debug: ${message}`))
    },
    warning: (message, annotation) => say(ownText(titled('warning', message, annotation))),
    error: (message, annotation) => say(ownText(titled('error', message, annotation))),
    group: async (name, fn) => {
      write(`── ${name}`)
      return fn()
    }
  }
}
