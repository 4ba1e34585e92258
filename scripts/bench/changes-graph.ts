// A NixOS-sized derivation graph, generated in the shape `nix derivation show -r` prints (an
// object keyed by .drv path: outputs, inputSrcs, inputDrvs, system, builder, args, env), for the
// changes-graph figure: what reading what the image was made of costs on a real system's scale.
// Deterministic (a seeded generator), so two runs measure the same graph.

/** Roughly a NixOS system's toplevel: tens of thousands of derivations. */
export const GRAPH_DERIVATIONS = 30_000

function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

const hash = (i: number, salt: string): string =>
  (i.toString(32) + salt).padEnd(32, 'abcdfghijklmnpqrsvwxyz0123456789').slice(0, 32)

/** Names like a NixOS graph's: packages with versions, and the build noise around them. */
function nameOf(i: number, bump: number, next: () => number): { name: string; fixed: boolean } {
  const kind = next()
  const version = `${1 + (i % 7)}.${i % 13}.${(i + bump) % 5}`
  if (kind < 0.15) return { name: `pkg${i}-${version}.tar.xz`, fixed: true }
  if (kind < 0.2) return { name: `source`, fixed: true }
  if (kind < 0.25) return { name: `fix-pkg${i}.patch`, fixed: true }
  if (kind < 0.27) return { name: `hook${i}-hook`, fixed: false }
  if (kind < 0.28) return { name: `bootstrap-stage${i % 5}`, fixed: false }
  return { name: `pkg${i}-${version}`, fixed: false }
}

export interface GeneratedGraph {
  json: string
  root: string
  /** `nix path-info --json -r` of the root's output: a share of the packages. */
  runtime: string
  /** A derivation deep in the graph, as a failed one. */
  failed: string
}

/**
 * The graph. bump: a version shift applied to every 50th package (a later run of the same image
 * after an update), so that two graphs differ in about 2% of their packages.
 */
export function generateGraph(count = GRAPH_DERIVATIONS, bump = 0): GeneratedGraph {
  const next = random(24)
  const paths: string[] = []
  const derivations: Record<string, unknown> = {}
  const runtime: { path: string; narSize: number }[] = []
  for (let i = 0; i < count; i++) {
    const { name, fixed } = nameOf(i, i % 50 === 0 ? bump : 0, next)
    const drv = `/nix/store/${hash(i, 'd')}-${name}.drv`
    const out = `/nix/store/${hash(i, 'o')}-${name}`
    const inputs = i === 0 ? [] : Array.from({ length: 6 }, () => paths[Math.floor(next() * i)])
    derivations[drv] = {
      outputs: {
        out: fixed ? { path: out, hashAlgo: 'sha256', hash: hash(i, 'h') } : { path: out }
      },
      inputSrcs: [`/nix/store/${hash(i, 's')}-default-builder.sh`],
      inputDrvs: Object.fromEntries(inputs.map(input => [input, ['out']])),
      system: 'x86_64-linux',
      builder: '/nix/store/bash-5.2p37/bin/bash',
      args: ['-e', `/nix/store/${hash(i, 's')}-default-builder.sh`],
      env: {
        name,
        out,
        builder: '/nix/store/bash-5.2p37/bin/bash',
        system: 'x86_64-linux',
        buildInputs: inputs.join(' '),
        configureFlags:
          '--enable-shared --disable-static --with-feature-a --with-feature-b '.repeat(4),
        stdenv: '/nix/store/stdenv-linux'
      }
    }
    paths.push(drv)
    if (!fixed && next() < 0.3) runtime.push({ path: out, narSize: Math.floor(next() * 5e6) })
  }
  const root = `/nix/store/${hash(count, 'd')}-nixos-system-nixos-24.11.drv`
  derivations[root] = {
    outputs: { out: { path: `/nix/store/${hash(count, 'o')}-nixos-system-nixos-24.11` } },
    inputSrcs: [],
    inputDrvs: Object.fromEntries(paths.slice(-2000).map(p => [p, ['out']])),
    env: { name: 'nixos-system-nixos-24.11' }
  }
  return {
    json: JSON.stringify(derivations),
    root,
    runtime: JSON.stringify(runtime),
    failed: paths[Math.floor(count * 0.9)]
  }
}
