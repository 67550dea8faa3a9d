import { defineConfig } from 'vitest/config';

/** The service and API suites, which run a second time on PostgreSQL and Redis (the replicas' stores). */
const STORE_SUITES = [
  'test/unit/tracker/**/*.test.ts',
  'test/unit/ownership.test.ts',
  'test/unit/instance-list.test.ts',
  'test/unit/ami-list.test.ts',
  'test/api/**/*.test.ts',
];

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration files each start their own moto/simulator on free ports; two cores.
    fileParallelism: true,
    maxWorkers: 2,
    globalSetup: ['./test/support/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'postgres', include: STORE_SUITES, env: { TEST_STORE: 'postgres', TEST_BUS: 'redis' } },
      },
    ],
  },
});
