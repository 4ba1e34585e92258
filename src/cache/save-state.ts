// What main hands the post step, as JSON state, for the image cache's save (save.ts).

/** What main hands the post step (as JSON state) to save the entry. */
export interface CacheSaveState {
  key: string
  /** The exact key was restored: nothing to save. */
  hit: boolean
  /** Why post must not try (the service was down during the restore, the store refuses imports). */
  skip?: string
  /** Absolute directory of CACHE_PATH. */
  dir: string
  nixPath: string
  nixEnv: Record<string, string>
  /** Closures to save, most valuable first: the images, then the devshell's environment. */
  roots: string[]
  /** The builds' derivations (the first is the image evaluated with the run's key). */
  drvPaths: string[]
  /** A build failed: the entry lacks what it did not build (see incompleteKey). */
  incomplete?: boolean
  /** 'deps': the image bakes the run's key; only derivations independent of it are saved. */
  kind: 'image' | 'deps'
  /** The image's .drv evaluated with a throw-away key (kind 'deps'). */
  otherDrvPath?: string
  /** The configured substituters and trusted keys, as main's nix saw them. */
  substituters: string[]
  trustedKeys: string[]
  maxBytes: number
  timeoutSeconds: number
}
