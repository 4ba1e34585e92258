// What of an image does not depend on the run's key: the image evaluated a second time with a
// throw-away key, and the derivations that are the same in both build closures. An image that
// takes its key at boot evaluates to the same .drv both times: its entry can hold the image.
import ssh2 from 'ssh2'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type { NixInstallation } from '../model/index.js'
import { evaluateDrvPath } from '../build/index.js'
import { MAX_QUERY_BYTES, run } from '../shared/process.js'
import { splitByKey, type EntryBasis } from './keys.js'

export interface ReuseAnalysis {
  basis: EntryBasis
  /** The image's .drv evaluated with the throw-away key. */
  otherDrvPath: string
  /** Derivations of the image's build closure that depend on the run's key (always built). */
  keyDependent: string[]
  /** Every output and source of the image's build closure: what this build can use. */
  wanted: string[]
}

/** The image's .drv with a throw-away public key in keyVar (its private half is never written). */
export async function evaluateWithOtherKey(
  nix: NixInstallation,
  request: { flake: string; image: string; keyVar: string },
  ctx: StageContext
): Promise<{ drvPath?: string; error?: string; ms: number }> {
  const started = Date.now()
  const dir = join(ctx.tempDir, 'cache-other-key')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const publicKeyPath = join(dir, 'id_ed25519.pub')
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'boot-image-vm cache probe' })
  await writeFile(publicKeyPath, `${pair.public}\n`)
  try {
    const evaluation = await evaluateDrvPath(
      nix,
      {
        flake: request.flake,
        image: request.image,
        context: 'host',
        env: { [request.keyVar]: publicKeyPath },
        dir
      },
      ctx
    )
    return { ...evaluation, ms: Date.now() - started }
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}

async function nixStoreQuery(
  nixPath: string,
  args: string[],
  env: Record<string, string>,
  deadline: number
): Promise<string[]> {
  const nixStore = join(dirname(nixPath), 'nix-store')
  const lines: string[] = []
  // Batches keep the argument list short on images with thousands of derivations.
  const items = args.slice(1)
  for (let i = 0; i < items.length; i += 500) {
    const query = await run(nixStore, [args[0], ...items.slice(i, i + 500)], {
      env,
      timeoutMs: deadline - Date.now(),
      maxBytes: MAX_QUERY_BYTES
    })
    if (query.exitCode !== 0) {
      throw new Error(
        query.timedOut
          ? `nix-store ${args[0]} took too long`
          : `nix-store ${args[0]}: ${query.startError ?? query.stderr.trim()}`
      )
    }
    lines.push(...query.stdout.split('\n').map(line => line.trim()))
  }
  return lines.filter(line => line.startsWith('/'))
}

/** The build closure of a .drv: its input derivations and sources, recursively. */
export function drvClosure(
  nixPath: string,
  drvPath: string,
  env: Record<string, string>,
  deadline: number
): Promise<string[]> {
  return nixStoreQuery(nixPath, ['-qR', drvPath], env, deadline)
}

/** The output paths of derivations (known before they are built, valid or not). */
export function drvOutputs(
  nixPath: string,
  drvPaths: string[],
  env: Record<string, string>,
  deadline: number
): Promise<string[]> {
  if (!drvPaths.length) return Promise.resolve([])
  return nixStoreQuery(nixPath, ['--query', '--outputs', ...drvPaths], env, deadline).then(
    paths => [...new Set(paths)]
  )
}

/** A .drv's build closure, and every output and source in it: what a build of it can use. */
export async function closureWanted(
  nixPath: string,
  drvPath: string,
  env: Record<string, string>,
  deadline: number
): Promise<{ closure: string[]; wanted: string[] }> {
  const closure = await drvClosure(nixPath, drvPath, env, deadline)
  const drvs = closure.filter(path => path.endsWith('.drv'))
  const outputs = await drvOutputs(nixPath, drvs, env, deadline)
  return { closure, wanted: [...closure.filter(path => !path.endsWith('.drv')), ...outputs] }
}

/** Splits the image's closure by the two evaluations. */
export async function analyseReuse(
  nixPath: string,
  drvPath: string,
  otherDrvPath: string,
  env: Record<string, string>,
  deadline: number
): Promise<ReuseAnalysis> {
  const { closure, wanted } = await closureWanted(nixPath, drvPath, env, deadline)
  if (otherDrvPath === drvPath) {
    return { basis: { kind: 'image', drvPath }, otherDrvPath, keyDependent: [], wanted }
  }
  const split = splitByKey(closure, await drvClosure(nixPath, otherDrvPath, env, deadline))
  return {
    basis: { kind: 'deps', drvPaths: split.reusable },
    otherDrvPath,
    keyDependent: split.keyDependent,
    wanted
  }
}
