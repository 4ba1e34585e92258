import { configDefaults, defineConfig } from 'vitest/config'

// Files that boot no VM and spend their time waiting, not computing: the @actions clients' own
// retry backoffs and the action's bounds against the local fake results service.
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
    // Two lanes of files, at once. One TCG guest keeps about one of the two cores busy: measured,
    // two guests booted together each reach sshd as soon as one alone (12-17 s), three take ~25 s
    // each. So the `vm` lane (forks) runs two files at a time, and the `waiting` lane (threads)
    // one file at a time beside it. vitest 3.2 has one pool per kind, shared by the projects that
    // name it, sized here. A test that looks at the whole machine (pgrep, /proc) counts only what
    // it started itself: another file runs beside it.
    fileParallelism: true,
    poolOptions: {
      forks: { maxForks: 2, minForks: 1 },
      threads: { maxThreads: 1, minThreads: 1 }
    },
    projects: [
      {
        test: {
          ...shared,
          name: 'vm',
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
