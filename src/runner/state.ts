// The names main and post pass state under (core.saveState / core.getState).
export const STATE = {
  reportDir: 'report-dir',
  keyDir: 'key-dir',
  cleanupPaths: 'cleanup-paths',
  qemuPid: 'qemu-pid',
  /** The image cache entry post saves (CacheSaveState as JSON). */
  imageCache: 'image-cache',
  /** baseline.json of a passing run, and the cache key post saves it under. */
  baselineFile: 'baseline-file',
  baselineKey: 'baseline-key',
  /** Main received the runner's cancel (SIGINT or SIGTERM). */
  cancelled: 'cancelled',
  /** Main delivered the report (files, artifact, job summary): post need not. */
  delivered: 'report-delivered'
} as const
