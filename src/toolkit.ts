// The results-service clients are large (several MiB bundled): they load when first used, so the
// action's first log line does not wait for them.
export const actionsCache = (): Promise<typeof import('@actions/cache')> => import('@actions/cache')
export const actionsArtifact = (): Promise<typeof import('@actions/artifact')> =>
  import('@actions/artifact')
