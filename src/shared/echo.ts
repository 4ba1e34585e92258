// Text the action did not write (Nix's messages and traces, builder lines, the guest's console,
// probe and test output, devshell values, apt and installer output), made safe to print.
//
// On GitHub the runner reads every stdout and stderr line as a possible workflow command, and it
// splits lines at \r as well as \n (.NET's ReadLine). It has two parsers (actions/runner,
// ActionCommand.cs): `::name props::data` once leading white space is trimmed, and the legacy
// `##[name props]data` found ANYWHERE in the line. A prefix alone would stop the first, not the
// second, so a line either parser could read is printed between `::stop-commands::<token>` and
// `::<token>::`, GitHub's documented way to print text verbatim, with a random token the text
// cannot know. Only such lines pay the two extra log lines; every other line prints as it is.
import { randomBytes } from 'node:crypto'
import { MAX_LINE_BYTES } from './process-output.js'

/** Longer lines are cut, as the process runner cuts a child's lines: one line cannot flood the log. */
export const MAX_ECHO_LINE_CHARS = MAX_LINE_BYTES
/** Where the runner ends a line. */
const LINE_BREAK = /\r\n|\r|\n/
/** Terminal escape sequences (colours, cursor moves): dropped whole, not left as `[31m`. */
// eslint-disable-next-line no-control-regex
const ANSI_SEQUENCE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g
/** Control characters other than tab, C1 included (.NET trims U+0085 as white space). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g
/** `::` after white space the runner's TrimStart skips; or `##[` anywhere. */
const RUNNER_COMMAND = /^[\s\u0085]*::|##\[/

/** The text's lines as the runner would split them, without control characters, each capped. */
export function echoLines(text: string): string[] {
  const lines = text.split(LINE_BREAK)
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop()
  return lines.map(line => capLine(line).replace(ANSI_SEQUENCE, '').replace(CONTROL, ''))
}

function capLine(line: string): string {
  if (line.length <= MAX_ECHO_LINE_CHARS) return line
  return `${line.slice(0, MAX_ECHO_LINE_CHARS)} … (line cut at ${MAX_ECHO_LINE_CHARS} of ${line.length} characters)`
}

/** Whether the runner could read this line (already split) as a workflow command. */
export function readableAsCommand(line: string): boolean {
  return RUNNER_COMMAND.test(line)
}

/**
 * Lines ready to print: each line a runner could read as a command is wrapped in stop-commands
 * with a fresh token. Print the result in one write so nothing interleaves.
 */
export function guardCommands(lines: string[], token: () => string = newToken): string[] {
  const out: string[] = []
  for (const line of lines) {
    if (!readableAsCommand(line)) {
      out.push(line)
      continue
    }
    let stop = token()
    while (line.includes(stop)) stop = token()
    out.push(`::stop-commands::${stop}`, line, `::${stop}::`)
  }
  return out
}

function newToken(): string {
  return randomBytes(16).toString('hex')
}

/** Untrusted text as printable lines, each labelled with where it came from (`[test] …`). */
export function echoText(source: string, text: string): string[] {
  return guardCommands(echoLines(text).map(line => `[${source}] ${line}`))
}

/** The action's own message, split the runner's way and guarded (it may quote untrusted text). */
export function ownText(message: string): string[] {
  return guardCommands(message.split(LINE_BREAK))
}
