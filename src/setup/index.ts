// Stage 1, setting up Nix: find or install it, probe what it can do, configure it for the run.
// Returns a SetupResult (the NixInstallation the later stages call, the KVM device's fate, the
// files post deletes); never throws for an expected failure (ok: false with an error).
export { setupNix, cleanupSetup, type SetupNixOptions } from './stage.js'
export { missingPaths, nixStepEnv, withNixStepEnv, type NixStepEnv } from './setup-env.js'
export { capabilitiesFor, parseNixVersion, type NixVersion } from './capabilities.js'
export { judgeSetup } from './judge.js'
export { defaultSetupPaths } from './find.js'
