// What the image was made of, as Nix prints it: the derivation graph (`nix show-derivation -r`
// before 2.15, `nix derivation show -r` after), the runtime closure with sizes (`nix path-info
// --json -r`, when the output exists) and the flake's lock (flake.lock on disk, or `nix flake
// metadata --json` for a flake elsewhere). Thin: the text comes back, report/changes/ parses it.
// Nothing is evaluated here: the .drv already exists once the image evaluated.
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { NixInstallation } from '../model/index.js'
import { run } from '../shared/process.js'

export interface ImageGraphRequest {
  flake: string
  drvPath?: string
  outPath?: string
  env: NodeJS.ProcessEnv
}

export interface ImageGraphText {
  /** The JSON of the derivation graph under drvPath. */
  graph?: string
  /** The JSON of the runtime closure of outPath. */
  runtime?: string
  /** flake.lock's text, or the metadata's JSON (`lockFrom: 'metadata'`). */
  lock?: string
  lockFrom?: 'file' | 'metadata'
  /** What could not be read, in words. */
  notes: string[]
}

/** The flake's directory when it is a local one ("." , "/src/img", "path:/src/img", "git+file:///src/img"). */
export function localFlakeDir(flake: string): string | undefined {
  const bare = flake.replace(/^(?:path:|git\+file:(?:\/\/)?)/, '').replace(/[?#].*$/, '')
  if (/^[a-z][a-z0-9+.-]*:/i.test(bare)) return undefined
  return resolve(bare || '.')
}

/** One read: its text, or why there is none. */
interface Read {
  text?: string
  note?: string
  from?: 'file' | 'metadata'
}

async function nixJson(
  nix: NixInstallation,
  args: string[],
  env: NodeJS.ProcessEnv,
  what: string
): Promise<Read> {
  const result = await run(nix.nixPath, args, { env: { ...env, ...nix.env } })
  if (result.exitCode === 0) return { text: result.stdout }
  // Nix's last line, on one line and bounded: it reaches the log.
  const last = result.startError ?? result.stderr.trim().split('\n').at(-1) ?? ''
  // eslint-disable-next-line no-control-regex
  const why = last.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300)
  return { note: `${what} was not read (nix ${args[0]}: ${why || `exit code ${result.exitCode}`})` }
}

async function readLock(nix: NixInstallation, request: ImageGraphRequest): Promise<Read> {
  const dir = localFlakeDir(request.flake)
  if (dir && existsSync(join(dir, 'flake.nix'))) {
    const file = join(dir, 'flake.lock')
    // A flake with no inputs may have no lock: no inputs, not a failure.
    return existsSync(file) ? { text: readFileSync(file, 'utf8'), from: 'file' } : {}
  }
  const args = ['flake', 'metadata', '--json', request.flake]
  const metadata = await nixJson(nix, args, request.env, "the flake's inputs")
  return metadata.text ? { ...metadata, from: 'metadata' } : metadata
}

export async function readImageGraph(
  nix: NixInstallation,
  request: ImageGraphRequest
): Promise<ImageGraphText> {
  const { drvPath, outPath, env } = request
  const [graph, runtime, lock] = await Promise.all([
    drvPath
      ? nixJson(
          nix,
          [...nix.capabilities.derivationShow, '-r', drvPath],
          env,
          'the derivation graph'
        )
      : Promise.resolve<Read>({ note: 'the image did not evaluate: no derivation graph to read' }),
    outPath && existsSync(outPath)
      ? nixJson(nix, ['path-info', '--json', '-r', outPath], env, 'the runtime closure')
      : Promise.resolve<Read>({}),
    readLock(nix, request)
  ])
  return {
    graph: graph.text,
    runtime: runtime.text,
    lock: lock.text,
    lockFrom: lock.from,
    notes: [graph, runtime, lock].flatMap(read => (read.note ? [read.note] : []))
  }
}
