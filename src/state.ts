// The names main and post pass state under (core.saveState / core.getState).
export const STATE = {
  reportDir: 'report-dir',
  keyDir: 'key-dir',
  cleanupPaths: 'cleanup-paths',
  qemuPid: 'qemu-pid'
} as const
