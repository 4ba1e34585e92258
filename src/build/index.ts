// Stage 2, building the image: `nix build` of the flake's image in each context (host, devshell),
// its internal-json events parsed into root failures, and a log per failing derivation. Returns a
// BuildResult per context (status passed | eval-failed | build-failed, the ISO, the failures).
export { buildImage, evaluateDrvPath, type BuildRequest } from './stage.js'
export { judgeBuilds, STOPPED_FOR_QEMU } from './judge.js'
export { readImageGraph, type ImageGraphRequest, type ImageGraphText } from './image-graph.js'
