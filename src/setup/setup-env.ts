// What the rest of the job needs from setup to use the action's Nix as the action does: Nix's own
// directory and the user's profile on PATH (as install-nix-action gives later steps), and the
// variables setup chose (NIX_USER_CONF_FILES: the drop-in and the token). The test command gets
// it directly; later steps get it through GITHUB_ENV and GITHUB_PATH as soon as setup succeeded.
// Pure.
import { delimiter, dirname, join } from 'node:path'
import type { NixInstallation } from '../model/index.js'

export interface NixStepEnv {
  /** Directories for PATH, the first one first: Nix's own, then ~/.nix-profile/bin. */
  paths: string[]
  variables: Record<string, string>
}

export function nixStepEnv(nix: NixInstallation, env: NodeJS.ProcessEnv): NixStepEnv {
  const paths = [dirname(nix.nixPath)]
  // Where `nix profile install` puts what a test command may want next (install-nix-action adds
  // it too); harmless before the profile exists.
  if (env.HOME) paths.push(join(env.HOME, '.nix-profile', 'bin'))
  return { paths: [...new Set(paths)], variables: { ...nix.env } }
}

/** The directories of `step` that PATH lacks, in the order they should come first. */
export function missingPaths(step: NixStepEnv, pathVariable: string | undefined): string[] {
  const present = new Set((pathVariable ?? '').split(delimiter).filter(Boolean))
  return step.paths.filter(dir => !present.has(dir))
}

/** `env` with the step's variables set and its missing directories put in front of PATH. */
export function withNixStepEnv(env: NodeJS.ProcessEnv, step: NixStepEnv): NodeJS.ProcessEnv {
  const missing = missingPaths(step, env.PATH)
  const path = [...missing, ...(env.PATH ? [env.PATH] : [])].join(delimiter)
  return { ...env, ...step.variables, PATH: path }
}
