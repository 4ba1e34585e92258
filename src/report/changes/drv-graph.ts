// The image's derivation graph, from `nix show-derivation -r` (Nix < 2.15) or `nix derivation
// show -r` JSON, walked into its packages: name → versions, what the image holds apart from
// build-only noise, and each failed derivation's own closure. Pure; linear in the graph's size.
import type { ImageComposition, PackageVersions } from '../../model/index.js'
import { isBuildNoise, parseDrvName, storeName } from './drv-name.js'

export interface DrvNode {
  /** The derivation's name (e.g. "systemd-256.2"). */
  name: string
  /** Output paths as the JSON prints them. */
  outputs: string[]
  /** Input derivations' keys, as the JSON prints them. */
  inputs: string[]
  /** A fixed-output derivation: a fetch, so a source. */
  fixedOutput: boolean
}

/**
 * Keyed by the .drv path as the JSON prints it (a store path before Nix 2.32, a base name after);
 * inputDrvs are printed the same way, so keys are compared as they are and only the paths this
 * run knows (the image, the failed derivations) are looked up both ways (keyOf).
 */
export type DrvGraph = Map<string, DrvNode>

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1)

interface ShownDerivation {
  name?: unknown
  env?: Record<string, unknown>
  outputs?: Record<string, { path?: unknown; hash?: unknown } | null>
  inputDrvs?: Record<string, unknown>
}

// Loops rather than Object.values/map: a NixOS graph has tens of thousands of derivations.
function nodeOf(key: string, drv: ShownDerivation): DrvNode {
  const outputs: string[] = []
  let fixedOutput = drv.env?.outputHash !== undefined
  for (const name in drv.outputs) {
    const output = drv.outputs[name]
    if (typeof output?.path === 'string') outputs.push(output.path)
    if (output?.hash !== undefined) fixedOutput = true
  }
  const inputs: string[] = []
  for (const input in drv.inputDrvs) inputs.push(input)
  const name =
    (typeof drv.name === 'string' && drv.name) ||
    (typeof drv.env?.name === 'string' && drv.env.name) ||
    storeName(key).replace(/\.drv$/, '')
  return { name, outputs, inputs, fixedOutput }
}

/** Parses the JSON (an object keyed by .drv path; newer Nix may wrap it in `derivations`). */
export function parseDerivationGraph(json: string): DrvGraph {
  const value = JSON.parse(json) as Record<string, unknown>
  const derivations =
    value && typeof value.derivations === 'object' && value.derivations !== null
      ? (value.derivations as Record<string, ShownDerivation>)
      : (value as Record<string, ShownDerivation>)
  const graph: DrvGraph = new Map()
  for (const path in derivations) {
    const drv = derivations[path]
    if (drv && typeof drv === 'object') graph.set(path, nodeOf(path, drv))
  }
  return graph
}

/** A path this run knows (a full store path) as the graph keys it. */
function keyOf(graph: DrvGraph, path: string): string | undefined {
  if (graph.has(path)) return path
  const base = baseName(path)
  if (graph.has(base)) return base
  for (const key of graph.keys()) if (baseName(key) === base) return key
  return undefined
}

/** The keys reachable from root (itself included), each once. */
export function closureOf(graph: DrvGraph, root: string): string[] {
  const start = keyOf(graph, root)
  if (start === undefined) return []
  const seen = new Set<string>([start])
  const order = [start]
  for (let i = 0; i < order.length; i++) {
    for (const input of graph.get(order[i])!.inputs) {
      if (!seen.has(input) && graph.has(input)) {
        seen.add(input)
        order.push(input)
      }
    }
  }
  return order
}

function add(map: PackageVersions, name: string, version: string): void {
  const versions = (map[name] ??= [])
  if (!versions.includes(version)) versions.push(version)
}

/** Output base name → narSize, from `nix path-info --json -r <out>` (array or object form). */
export type RuntimeClosure = Map<string, number>

/**
 * The packages of the graph under root. With a runtime closure that holds more than the root's
 * own outputs, the image is what it holds; otherwise (an ISO packs its closure inside) the image
 * is the graph without build noise. Everything else is build-only.
 */
export function packagesOf(
  graph: DrvGraph,
  root: string,
  runtime?: RuntimeClosure
): Pick<ImageComposition, 'packages' | 'buildPackages' | 'packageBytes'> {
  const keys = closureOf(graph, root)
  const rootOutputs = new Set((keys.length ? graph.get(keys[0])!.outputs : []).map(baseName))
  const informative = !!runtime && [...runtime.keys()].some(path => !rootOutputs.has(path))
  const packages: PackageVersions = {}
  const buildPackages: PackageVersions = {}
  const packageBytes: Record<string, number> = {}
  for (const key of keys) {
    const node = graph.get(key)!
    const { name, version } = parseDrvName(node.name)
    let image = !node.fixedOutput && !isBuildNoise(node.name)
    if (informative) {
      image = false
      for (const output of node.outputs) {
        const bytes = runtime.get(baseName(output))
        if (bytes === undefined) continue
        image = true
        packageBytes[name] = (packageBytes[name] ?? 0) + bytes
      }
    }
    add(image ? packages : buildPackages, name, version)
  }
  for (const versions of Object.values(packages)) versions.sort()
  for (const versions of Object.values(buildPackages)) versions.sort()
  return informative ? { packages, buildPackages, packageBytes } : { packages, buildPackages }
}

/** Each failed derivation's closure as package names (itself first). */
export function failingClosures(graph: DrvGraph, failed: string[]): Record<string, string[]> {
  const closures: Record<string, string[]> = {}
  for (const drv of failed) {
    const names = closureOf(graph, drv).map(key => parseDrvName(graph.get(key)!.name).name)
    if (names.length) closures[drv] = [...new Set(names)]
  }
  return closures
}

/** `nix path-info --json -r` → output base name → narSize. */
export function parseRuntimeClosure(json: string): RuntimeClosure {
  const value = JSON.parse(json) as unknown
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map(e => [String((e as { path?: unknown }).path ?? ''), e])
    : Object.entries((value ?? {}) as Record<string, unknown>)
  const closure: RuntimeClosure = new Map()
  for (const [path, info] of entries) {
    const size = (info as { narSize?: unknown } | null)?.narSize
    if (path) closure.set(baseName(path), typeof size === 'number' ? size : 0)
  }
  return closure
}
