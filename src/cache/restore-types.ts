// The image cache's restore: what it is asked, and what it returns (the report's CacheResult and
// what the build and the post step need from it).
import type { CacheResult } from '../model/index.js'
import type { ReuseAnalysis } from './reuse.js'
import type { SubstituterConfig } from './substituters.js'

export interface CacheRestoreRequest {
  flake: string
  image: string
  /** The key variable, exactly as the host build gets it (the .drv depends on it). */
  keyEnv: Record<string, string>
  /** The devshell the run uses (nix develop's name for it), if any: its closure may be imported too. */
  devshell?: string
  /** Report directory of the host build (eval.log goes there). */
  buildDir: string
  timeoutSeconds: number
}

export type CacheRestore = CacheResult & {
  hit: boolean
  /** The host build's .drv, evaluated here so the build does not evaluate it again. */
  drvPath?: string
  dir?: string
  /** What the entry holds, and the image's .drv with the throw-away key. */
  reuse?: Pick<ReuseAnalysis, 'basis' | 'otherDrvPath'>
  substituters?: SubstituterConfig
  /** Why the post step must not save (the store would refuse the entry's paths). */
  refused?: string
}
