// Stage 3 (beside the build and the boot), the environment diff: what the build's environment has
// that the devshell's has not, and the reverse, with a verdict per difference. Returns an
// EnvDiffResult and writes env/diff.md, diff.json, host.env, devshell.env; it only ever warns.
export { diffBuildEnvironment, ENV_FILES } from './stage.js'
export { judgeEnvDiff, judgeEnvDiffError } from './judge.js'
