import { configDefaults, defineConfig } from 'vitest/config'

// Files that boot no VM and spend their time waiting, not computing: the @actions clients' own
// retry backoffs and the action's bounds against the local fake results service. Keep VM boots
// out of this list: it runs beside the VM files.
const WAITING = [
  'tests/unit/report/artifacts.test.ts',
  'tests/integration/results-service.test.ts',
  'tests/e2e/results-service-faults.test.ts'
]

const shared = {
  testTimeout: 120_000,
  hookTimeout: 300_000
}

export default defineConfig({
  test: {
    // Integration tests boot QEMU under TCG; two cores do not take more than one at a time well.
    // So each pool runs one file at a time (vitest 3.2 has one pool per kind, shared by the
    // projects that name it, and fileParallelism: false gives each one worker), and there are two
    // lanes: every file that may boot a VM, in forks, one after another as before; the WAITING
    // files, in threads, one after another beside them. Both projects are in sequence group 0,
    // so the two pools run at once.
    fileParallelism: false,
    projects: [
      {
        test: {
          ...shared,
          name: 'serial',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...WAITING],
          pool: 'forks'
        }
      },
      { test: { ...shared, name: 'waiting', include: WAITING, pool: 'threads' } }
    ],
    // Where the time went first, then vitest's own summary as the last lines.
    reporters: ['./tests/helpers/slowest-files-reporter.ts', 'default']
  }
})
