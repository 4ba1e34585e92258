// The stage entry points the pipeline calls: every one that starts a process (Nix, apt, QEMU, the
// KVM check). The real ones by default; a test hands its own and gets typed results at once.
import { setupNix } from '../setup/index.js'
import { provisionQemu, qemuFromPath } from '../qemu-provisioning/index.js'
import { buildImage } from '../build/index.js'
import { devshellEnvPath, restoreImageCache } from '../cache/index.js'
import { diffBuildEnvironment } from '../env/index.js'
import { checkKvm, runVm } from '../vm/index.js'

export interface PipelineStages {
  setupNix: typeof setupNix
  /** QEMU from PATH, at once (the KVM check may use it before provisioning ends). */
  qemuFromPath: typeof qemuFromPath
  provisionQemu: typeof provisionQemu
  checkKvm: typeof checkKvm
  restoreImageCache: typeof restoreImageCache
  buildImage: typeof buildImage
  /** The devshell's environment, for the post step's cache save. */
  devshellEnvPath: typeof devshellEnvPath
  diffBuildEnvironment: typeof diffBuildEnvironment
  /** Boot, probes and the test command. */
  runVm: typeof runVm
}

export const REAL_STAGES: PipelineStages = {
  setupNix,
  qemuFromPath,
  provisionQemu,
  checkKvm,
  restoreImageCache,
  buildImage,
  devshellEnvPath,
  diffBuildEnvironment,
  runVm
}
