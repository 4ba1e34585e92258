// Where stages say things. In Actions this is @actions/core (annotations, groups); on a laptop,
// plain prefixed lines. Stages only ever see this interface.
import * as core from '@actions/core'

export interface Annotation {
  title?: string
}

export interface Log {
  info(message: string): void
  debug(message: string): void
  /** A warning annotation in Actions. */
  warning(message: string, annotation?: Annotation): void
  /** An error annotation in Actions. */
  error(message: string, annotation?: Annotation): void
  /** A collapsible group in the job log around one stage. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

export const actionsLog: Log = {
  info: message => core.info(message),
  debug: message => core.debug(message),
  warning: (message, annotation) => core.warning(message, annotation ?? {}),
  error: (message, annotation) => core.error(message, annotation ?? {}),
  group: (name, fn) => core.group(name, fn)
}

export function consoleLog(
  write: (line: string) => void = line => process.stderr.write(line + '\n')
): Log {
  const titled = (level: string, message: string, annotation?: Annotation): string =>
    `${level}: ${annotation?.title ? annotation.title + ': ' : ''}${message}`
  return {
    info: message => write(message),
    debug: message => {
      if (process.env.BOOT_IMAGE_VM_DEBUG) write(`debug: ${message}`)
    },
    warning: (message, annotation) => write(titled('warning', message, annotation)),
    error: (message, annotation) => write(titled('error', message, annotation)),
    group: async (name, fn) => {
      write(`── ${name}`)
      return fn()
    }
  }
}
