// The pass-env input: names of variables the user hands to nix and QEMU besides the allow-list
// (src/shared/child-env.ts). A credential is refused here, loudly, rather than dropped later in silence.
import { isCredentialName } from '../shared/child-env.js'
import { InputError } from './errors.js'

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** One name a line (blank lines and surrounding white space ignored), each checked. */
export function passEnvInput(value: string): string[] {
  const names = value
    .split(/\r?\n/)
    .map(line => line.trim())
    .filter(Boolean)
  for (const name of names) {
    if (!VARIABLE_NAME.test(name)) {
      throw new InputError(
        'pass-env',
        `'${name}' is not a valid environment variable name (letters, digits and _, not starting with a digit; one name a line).`
      )
    }
    if (isCredentialName(name)) {
      throw new InputError(
        'pass-env',
        `'${name}' looks like a credential (ACTIONS_*, INPUT_* or a secret-looking name): it is never handed to nix or QEMU, where the flake could read it. Remove it; give Nix a GitHub token through github-token.`
      )
    }
  }
  return [...new Set(names)]
}
