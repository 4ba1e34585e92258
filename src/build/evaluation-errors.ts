// Whether Nix failed while evaluating the flake (an eval-failed run) rather than building it:
// no builder failed, and the error reads as the evaluator's, not the store's or the daemon's.
import { findDependents, findRootFailures, nixText } from './failures.js'

const EVALUATION_ERRORS = [
  /error: attribute '[^'\n]*' missing/,
  /does not provide attribute/,
  /error: getting status of/,
  /path '[^'\n]*' does not exist/,
  /\bthrow\b|evaluation aborted/,
  /^[^\S\n]*error: (?=.*flake)(?=.*does not exist)/m,
  /error: undefined variable/,
  /error: (?:syntax error|value is|expected a|cannot coerce|infinite recursion|assertion)/,
  /while evaluating/
]
/** Errors that stop Nix before or outside evaluation: the store, the daemon, the configuration. */
const NOT_EVALUATION =
  /cannot connect to|Permission denied|No space left|opening lock file|experimental Nix feature|unrecognised flag|unknown setting|database is locked|pseudoterminal|unexpected end-of-file|disconnected unexpectedly|setting up the build environment|getting attributes of path|\.drv\.chroot\/|bind mount from|sandbox (?:mount|user) namespace|' is not valid|failed to start SSH connection|cannot build on '|Failed to find a machine for remote build/

/** Whether Nix failed while evaluating (no builder failed, and the error is an evaluation error). */
export function isEvaluationError(text: string): boolean {
  const plain = nixText(text)
  if (findRootFailures(plain).length || findDependents(plain).length) return false
  if (EVALUATION_ERRORS.some(re => re.test(plain))) return true
  // A plain `throw` prints only its message; with no build started, an error is the evaluator's.
  const started = /^building '|^[^\S\n]*these \d+ derivations will be built/m.test(plain)
  return !started && /^error:/m.test(plain) && !NOT_EVALUATION.test(plain)
}
