import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration files each start their own moto/simulator on free ports; two cores.
    fileParallelism: true,
    maxWorkers: 2,
    globalSetup: ['./test/support/global-setup.ts'],
  },
});
