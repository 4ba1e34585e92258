import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Integration tests boot QEMU under TCG; two cores do not take more than one at a time well.
    fileParallelism: false,
    // Where the time went first, then vitest's own summary as the last lines.
    reporters: ['./tests/helpers/slowest-files-reporter.ts', 'default']
  }
})
