// What a build is asked to do, and the nix command lines it makes of that (pure): the context
// (host, or inside the devshell through `nix develop -c`), the arguments, the out path, the error.
import type { BuildContext, NixInstallation } from '../model/index.js'
import { readNixJson } from '../shared/bounds.js'

export interface BuildRequest {
  flake: string
  image: string
  context: BuildContext
  /** run inside `nix develop <flake>#<devshell> -c` when context is 'devshell' */
  devshell?: string
  /** env additions e.g. { PRE_NIXOS_ROOT_KEY: '/path/key.pub' } */
  env: Record<string, string>
  /** absolute report subdirectory for this build, e.g. <report>/build */
  dir: string
  system?: string
  /** Already evaluated in this context (by the cache restore): the build skips `nix eval`. */
  drvPath?: string
}

/** The command and arguments that run `nix <args>` in the request's context. */
export function nixCommand(
  nix: NixInstallation,
  request: BuildRequest,
  args: string[]
): { command: string; args: string[] } {
  if (request.context !== 'devshell') return { command: nix.nixPath, args }
  if (!request.devshell) throw new Error('a devshell build needs the devshell attribute')
  const shell = `${request.flake}#${request.devshell}`
  return { command: nix.nixPath, args: ['develop', shell, '-c', nix.nixPath, ...args] }
}

/** `nix build` arguments: events on stderr, out paths on stdout in the form this Nix knows. */
export function buildArguments(nix: NixInstallation, request: BuildRequest): string[] {
  const args = [
    'build',
    `${request.flake}#${request.image}`,
    '--impure',
    '--no-link',
    '-L',
    '--keep-going',
    '--log-format',
    'internal-json',
    nix.capabilities.printOutPaths ? '--print-out-paths' : '--json'
  ]
  if (request.system) args.push('--system', request.system)
  return args
}

/** The out path from `--print-out-paths` lines or `--json` (`[{"drvPath","outputs":{"out"}}]`). */
export function parseOutPath(stdout: string, printOutPaths: boolean): string | undefined {
  if (printOutPaths)
    return stdout
      .split('\n')
      .find(line => line.trim().startsWith('/'))
      ?.trim()
  try {
    const built = readNixJson(stdout) as { outputs?: Record<string, string> }[]
    const outputs = built[0]?.outputs ?? {}
    return outputs.out ?? Object.values(outputs)[0]
  } catch {
    return undefined
  }
}
