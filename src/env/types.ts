// What env-capture records about one context (the build's own, or `nix develop <flake>#<shell>`),
// and the diff's full shape as written to env/diff.json (schema: docs/env-diff.md). Types only.
import type { BuildContext, EnvDiffResult, NixVariant } from '../model/index.js'

export interface NixIdentity {
  /** The first `nix` on the context's PATH; null when there is none. */
  onPath: string | null
  /** `onPath` with symlinks resolved. */
  onPathRealPath: string | null
  /** The binary this context's builds run: the action's own on the host, the PATH's in the devshell. */
  path: string
  /** `path` with symlinks resolved: two contexts run the same nix exactly when these match. */
  realPath: string
  /** "2.8.0": the Nix-compatible version `nix --version` prints; null when it could not be run. */
  version: string | null
  variant: NixVariant | null
  error?: string
}

export interface StoreFacts {
  /** $NIX_REMOTE as the context has it. */
  nixRemote: string | null
  /** The effective `store` setting (NIX_REMOTE is its default), when the config could be read. */
  store: string | null
  /** Whether the daemon socket ($NIX_DAEMON_SOCKET_PATH or <state dir>/daemon-socket/socket) exists. */
  daemonSocket: boolean
  /** Whether this uid can write the state dir: `auto` then opens the store in-process. */
  stateDirWritable: boolean
  uid: number
  /** Where builds run: in this process (build dir from TMPDIR), a daemon, or another store. */
  mode: 'in-process' | 'daemon' | 'remote'
}

export interface TmpdirFacts {
  /** $TMPDIR as the user's process would see it (/tmp when unset, as Nix and mktemp default). */
  path: string
  set: boolean
  /** `path` with symlinks resolved: Nix canonicalises TMPDIR this way before building under it. */
  realPath: string
  /** UTF-8 byte length of `path`. */
  bytes: number
  exists: boolean
  writable: boolean
  /** Free bytes on its filesystem (statfs); null when it could not be measured. */
  freeBytes: number | null
  /** The directory an in-process build of the image gets on the host side; null when unknown. */
  buildDir: string | null
  /** The same directory as the builder sees it (the sandbox maps it to /build). */
  builderDir: string | null
  /** Bytes left for a socket path below `builderDir` (see socketHeadroom in env-diff.ts). */
  socketHeadroom: number | null
  /** One line: why the build directory is where it is. */
  buildDirNote: string
}

export interface ContextFacts {
  context: BuildContext
  /** False when the context could not be entered (nix develop failed). */
  ok: boolean
  error?: string
  nix: NixIdentity
  /** A subset of the effective configuration, each value rendered as nix.conf would write it. */
  settings: Record<string, string>
  settingsError?: string
  store: StoreFacts
  tmpdir: TmpdirFacts
  /** What `nix eval --raw --impure <flake>#<image>.drvPath` prints in this context. */
  drvPath: string | null
  evalError?: string
  /** Number of environment variables captured. */
  variables: number
  durationMs: number
}

export interface ContextCapture extends Omit<ContextFacts, 'variables'> {
  /** Every variable: the host's as handed to nix, the devshell's from `env -0` inside it. */
  env: Record<string, string>
}

/** env/diff.json. */
export interface EnvDiffReport extends EnvDiffResult {
  schemaVersion: 1
  request: { flake: string; image: string; devshell: string; keyNames: string[] }
  contexts: { host: ContextFacts; devshell: ContextFacts }
  /** Report-relative paths of the files the stage wrote. */
  files: string[]
}
