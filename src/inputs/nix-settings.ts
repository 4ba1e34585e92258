// The checks for the inputs that reach Nix's configuration files (the action's drop-in and the
// token file it includes) or the installer's URL. Pure: each returns what is wrong, or undefined;
// parse.ts turns that into an InputError naming the input.

/** `2.35.2`, or `2.35.2@sha256:<64 hex digits>` (the installer's hash for versions without one). */
export const NIX_VERSION = /^\d+\.\d+\.\d+(?:@sha256:[0-9a-fA-F]{64})?$/

export function nixVersionProblem(value: string): string | undefined {
  if (!value || NIX_VERSION.test(value)) return undefined
  return `'${value}' is not a version like '2.35.2' or '2.35.2@sha256:<64 hex digits>' (or empty for the pinned version).`
}

/**
 * A token is one word: white space (a newline above all) would put its own lines into the token
 * file, and Nix would read them as settings (`post-build-hook = …`). The value is never echoed.
 */
export function githubTokenProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (!/[\s\x00-\x1f\x7f]/.test(value)) return undefined
  return (
    'contains white space or a control character (a newline would add lines to Nix’s ' +
    'configuration); a token is one word: pass the token alone, e.g. ${{ github.token }}.'
  )
}

/**
 * What Nix's configuration parser takes as a line: `name = value` (white space around the `=`; the
 * value may be empty), `include <file>` / `!include <file>`, or a comment. Anything else Nix
 * would refuse with "illegal configuration line" on every call; here it is refused up front.
 */
const SETTING = /^[A-Za-z][A-Za-z0-9-]*[ \t]+=(?:[ \t]+\S.*)?$/
const INCLUDE = /^!?include[ \t]+\S.*$/

export function extraNixConfProblem(lines: string[]): string | undefined {
  for (const [index, line] of lines.entries()) {
    if (line.startsWith('#') || SETTING.test(line) || INCLUDE.test(line)) continue
    return (
      `line ${index + 1} ('${line}') is not a Nix setting: write one 'name = value' per line ` +
      `(spaces around '='), 'include <file>' or '!include <file>'.`
    )
  }
  return undefined
}
