// The devshell's part of what the image cache may import. `nix develop` builds the devshell's
// environment from the devshell's build closure; an entry's manifest names the paths it saved for
// it (`keep`), but a manifest can be forged: only what this run's own evaluation of the devshell
// finds is imported, never what the manifest adds. Evaluated only when the entry has such paths.
import { join } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type { NixInstallation } from '../model/index.js'
import { evaluateDrvPath } from '../build/index.js'
import { run } from '../shared/process.js'
import { nixFlags } from './actions-cache.js'
import { readManifest } from './entry.js'
import type { CacheRestoreRequest } from './restore-types.js'
import { closureWanted } from './reuse.js'

/** The outputs and sources of the devshell's build closure, when the entry in dir holds any. */
export async function devshellWanted(
  nix: NixInstallation,
  env: Record<string, string>,
  request: CacheRestoreRequest,
  entry: { dir: string; deadline: number },
  ctx: StageContext
): Promise<string[]> {
  if (!request.devshell || !keepsDevshell(entry.dir)) return []
  const system = await run(
    nix.nixPath,
    ['eval', ...nixFlags, '--raw', '--impure', '--expr', 'builtins.currentSystem'],
    { env }
  )
  // As `nix develop` looks it up: devShells.<system>.<name> first, then the name as given.
  const attributes = [
    ...(system.exitCode === 0 ? [`devShells.${system.stdout.trim()}.${request.devshell}`] : []),
    request.devshell
  ]
  const evalDir = join(ctx.tempDir, 'cache-devshell')
  for (const attribute of attributes) {
    const { drvPath } = await evaluateDrvPath(
      nix,
      {
        flake: request.flake,
        image: attribute,
        context: 'host',
        env: request.keyEnv,
        dir: evalDir
      },
      ctx
    )
    if (drvPath) return (await closureWanted(nix.nixPath, drvPath, env, entry.deadline)).wanted
  }
  return []
}

function keepsDevshell(dir: string): boolean {
  try {
    return Boolean(readManifest(dir)?.keep?.length)
  } catch {
    return false
  }
}
