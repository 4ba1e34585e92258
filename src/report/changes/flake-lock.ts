// flake.lock → the flake's inputs, as locked: each node reached from the root, named by its path
// ("nixpkgs", "home-manager/nixpkgs"); a `follows` (an array) is the node it follows, not a new
// input. Pure; a malformed lock gives what it can and never throws.
import type { FlakeInput } from '../../model/index.js'

interface LockNode {
  inputs?: Record<string, string | string[]>
  locked?: Record<string, unknown>
  original?: Record<string, unknown>
}

interface LockFile {
  nodes?: Record<string, LockNode>
  root?: string
}

/** Inputs kept per lock: a lock with more is cut (a bound on what the baseline carries). */
export const MAX_INPUTS = 200

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g

/** A lock's string, bounded and on one line (it reaches the log and the summary). */
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value ? value.replace(CONTROL, ' ').slice(0, 500) : undefined

/** A URL without the user and password a lock may carry (git+https://user:token@host/…). */
function withoutUserinfo(url: string | undefined): string | undefined {
  return url?.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1')
}

function inputOf(name: string, node: LockNode): FlakeInput | undefined {
  const locked = node.locked ?? {}
  const type = text(locked.type)
  if (!type) return undefined
  const input: FlakeInput = { name, type }
  const fields = {
    owner: text(locked.owner),
    repo: text(locked.repo),
    url: withoutUserinfo(text(locked.url) ?? text(locked.path)),
    ref: text(locked.ref),
    rev: text(locked.rev),
    narHash: text(locked.narHash)
  }
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) (input as unknown as Record<string, string>)[key] = value
  }
  if (typeof locked.lastModified === 'number' && Number.isFinite(locked.lastModified))
    input.lastModified = locked.lastModified
  return input
}

/** The inputs of a flake.lock's text, root's first, in the lock's order. */
export function parseFlakeLock(lockText: string): FlakeInput[] {
  let lock: LockFile
  try {
    lock = JSON.parse(lockText) as LockFile
  } catch {
    return []
  }
  const nodes = lock?.nodes
  if (!nodes || typeof nodes !== 'object') return []
  const inputs: FlakeInput[] = []
  const seen = new Set<string>([lock.root ?? 'root'])
  const queue: { path: string; key: string }[] = []
  const enqueue = (prefix: string, node: LockNode | undefined): void => {
    for (const [name, ref] of Object.entries(node?.inputs ?? {})) {
      if (typeof ref === 'string') queue.push({ path: prefix + (text(name) ?? '?'), key: ref })
    }
  }
  enqueue('', nodes[lock.root ?? 'root'])
  while (queue.length && inputs.length < MAX_INPUTS) {
    const { path, key } = queue.shift()!
    if (seen.has(key) || !nodes[key]) continue
    seen.add(key)
    const input = inputOf(path, nodes[key])
    if (input) inputs.push(input)
    enqueue(`${path}/`, nodes[key])
  }
  return inputs
}

/** The `locks` of `nix flake metadata --json` (a remote flake with no flake.lock on disk). */
export function inputsFromMetadata(json: string): FlakeInput[] {
  try {
    const locks = (JSON.parse(json) as { locks?: unknown }).locks
    return locks ? parseFlakeLock(JSON.stringify(locks)) : []
  } catch {
    return []
  }
}
