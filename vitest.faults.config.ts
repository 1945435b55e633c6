import { defineConfig } from 'vitest/config';

// The fault-injection suite runs on its own, after the other tests (vitest.config.ts leaves it out):
// its kills and restarts under load would otherwise share the two cores with tests that measure
// timing. One file at a time.
export default defineConfig({
  resolve: { conditions: ['source', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'import', 'default'] } },
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    minWorkers: 1,
  },
});
