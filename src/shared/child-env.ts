// What each child process gets of the action's environment (issue 22). The image is evaluated
// --impure, so whatever `nix` is given, the flake (and every input of it) can read with
// builtins.getEnv and keep in a store path: nix, the devshell capture, QEMU, the KVM check and the
// installer get an allow-list. The test command is the user's own code: it gets what a `run:` step
// gets, not the tokens the runner hands only to actions.
import { isSecretName } from './secrets.js'

/** What the user (inputs) adds to the allow-list. */
export interface ChildEnvPolicy {
  /** The variable that carries root's public key into the build (input root-key-env). */
  keyVar: string
  /** Names the user asked to pass (input pass-env). */
  passEnv: readonly string[]
}

export const DEFAULT_KEY_VAR = 'PRE_NIXOS_ROOT_KEY'

/** Where the environment comes from: a StageContext, or post's process.env. */
export interface ChildEnvSource {
  env: NodeJS.ProcessEnv
  /** Absent: nothing passed beyond the allow-list, the default key variable. */
  childEnv?: ChildEnvPolicy
}

/** Always passed: what Nix, its fetchers and QEMU need to find things and talk to the network. */
const ALLOWED = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'TMP',
  'TEMP',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TERM',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NIX_SSL_CERT_FILE',
  'NIX_SSHOPTS',
  'XDG_CONFIG_HOME',
  'XDG_CONFIG_DIRS',
  'XDG_CACHE_HOME',
  'XDG_DATA_HOME',
  'XDG_DATA_DIRS',
  'XDG_STATE_HOME',
  'XDG_RUNTIME_DIR',
  // A runner behind a proxy: substituters, fetchers and apt go through it.
  'http_proxy',
  'https_proxy',
  'all_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
  // The runner ends the processes a job left behind by this mark in their environment (its orphan
  // clean-up): a child without it (a KVM check's QEMU when main is killed) would outlive the job.
  'RUNNER_TRACKING_ID'
])
/** Nix's own variables (NIX_PATH, NIX_CONF_DIR, NIX_CONFIG, …) and the locale's. */
const ALLOWED_PREFIX = /^(NIX_|LC_)/

/**
 * Never handed to Nix or QEMU, whatever the user names: the runner's tokens and service URLs
 * (ACTIONS_*), the action's inputs (INPUT_*, github-token among them), and anything whose name
 * says it is secret (secrets.ts's test: GITHUB_TOKEN, *_PASSWORD, …).
 */
export function isCredentialName(name: string): boolean {
  return /^(ACTIONS_|INPUT_)/i.test(name) || isSecretName(name)
}

/**
 * The allow-list applied to the action's environment, then the action's own overlays (Nix's
 * variables from setup, the key variable's value). For `nix` (eval, build, develop, log, the
 * cache's calls, the env capture), the installer, QEMU, the KVM check and apt-get.
 */
export function allowedEnv(
  source: ChildEnvSource,
  ...overlays: Record<string, string>[]
): Record<string, string> {
  const policy = source.childEnv ?? { keyVar: DEFAULT_KEY_VAR, passEnv: [] }
  const named = new Set([policy.keyVar, ...policy.passEnv])
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(source.env)) {
    if (value === undefined || isCredentialName(name)) continue
    if (ALLOWED.has(name) || ALLOWED_PREFIX.test(name) || named.has(name)) out[name] = value
  }
  return Object.assign(out, ...overlays)
}

/** Runner variables a `run:` step never sees (the runtime's tokens and service URLs). */
const NOT_FOR_RUN_STEPS = /^(ACTIONS_RUNTIME_|ACTIONS_ID_TOKEN_|ACTIONS_CACHE_|INPUT_)/i

/**
 * The test command's environment (test-command.ts): what a `run:` step gets (the job's variables, GITHUB_TOKEN if
 * the workflow set it) without the runtime's tokens, the action's inputs and its state file
 * (post trusts what is in it), plus `extra` (the documented BOOT_IMAGE_VM_*).
 */
export function runStepEnv(
  env: NodeJS.ProcessEnv,
  extra: Record<string, string>
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || NOT_FOR_RUN_STEPS.test(name)) continue
    if (name === 'ACTIONS_RESULTS_URL' || name === 'GITHUB_STATE') continue
    out[name] = value
  }
  return { ...out, ...extra }
}
