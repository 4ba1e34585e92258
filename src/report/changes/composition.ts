// What this run's image was made of: the commit (GITHUB_SHA), the flake's inputs and the packages
// of its derivation graph (read through build/index.ts), the failed derivations' own closures.
// compositionFrom is pure; composeImage asks Nix. Neither throws: what is missing is a note.
import { readImageGraph, type ImageGraphText } from '../../build/index.js'
import type { CommitRef, ImageComposition, Report } from '../../model/index.js'
import { errorMessage } from '../../shared/process.js'
import {
  failingClosures,
  packagesOf,
  parseDerivationGraph,
  parseRuntimeClosure
} from './drv-graph.js'
import { inputsFromMetadata, parseFlakeLock } from './flake-lock.js'

/** The repository's commit from the runner's variables (none on the command line). */
export function commitOf(env: NodeJS.ProcessEnv): CommitRef | undefined {
  const sha = env.GITHUB_SHA?.trim()
  if (!sha || !/^[0-9a-f]{7,64}$/i.test(sha)) return undefined
  return {
    sha,
    ...(env.GITHUB_REPOSITORY ? { repository: env.GITHUB_REPOSITORY } : {}),
    ...(env.GITHUB_SERVER_URL ? { serverUrl: env.GITHUB_SERVER_URL } : {})
  }
}

export interface CompositionFacts {
  drvPath?: string
  failedDrvs: string[]
  commit?: CommitRef
}

/** The composition from what Nix printed. */
export function compositionFrom(text: ImageGraphText, facts: CompositionFacts): ImageComposition {
  const composition: ImageComposition = {}
  const notes = [...text.notes]
  if (facts.commit) composition.commit = facts.commit
  if (text.lock !== undefined) {
    composition.inputs =
      text.lockFrom === 'metadata' ? inputsFromMetadata(text.lock) : parseFlakeLock(text.lock)
  } else if (!notes.some(note => note.includes('inputs'))) composition.inputs = []
  if (text.graph && facts.drvPath) {
    try {
      const graph = parseDerivationGraph(text.graph)
      const runtime = text.runtime ? parseRuntimeClosure(text.runtime) : undefined
      Object.assign(composition, packagesOf(graph, facts.drvPath, runtime))
      const failing = failingClosures(graph, facts.failedDrvs)
      if (Object.keys(failing).length) composition.failingClosures = failing
    } catch (error) {
      notes.push(`the derivation graph was unreadable: ${errorMessage(error).slice(0, 200)}`)
    }
  }
  if (notes.length) composition.notes = notes
  return composition
}

/** The build whose image is compared: the one that passed, else the one that evaluated. */
function imageBuild(report: Report) {
  return (
    report.builds.find(b => b.status === 'passed' && b.outPath) ??
    report.builds.find(b => b.drvPath)
  )
}

/** This run's composition; undefined when Nix never got set up. */
export async function composeImage(
  report: Report,
  options: { flake: string; env: NodeJS.ProcessEnv }
): Promise<ImageComposition | undefined> {
  const nix = report.setup?.nix
  if (!nix) return undefined
  const build = imageBuild(report)
  const failedDrvs = [...new Set(report.builds.flatMap(b => b.failures.map(f => f.drv)))]
  const text = await readImageGraph(nix, {
    flake: options.flake,
    drvPath: build?.drvPath,
    outPath: build?.status === 'passed' ? build.outPath : undefined,
    env: options.env
  })
  return compositionFrom(text, {
    drvPath: build?.drvPath,
    failedDrvs,
    commit: commitOf(options.env)
  })
}
