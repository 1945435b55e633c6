import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources (the `source` export condition),
// so `pnpm test` needs no build for in-process tests; tests that spawn the CLI use the built dist.
export default defineConfig({
  resolve: { conditions: ['source', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'import', 'default'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // the fault-injection suite runs on its own (vitest.faults.config.ts): `pnpm test` runs it after
    exclude: ['**/node_modules/**', 'test/faults/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // integration files each start their own nats-server; two at a time suits a 2-core machine
    maxWorkers: 2,
    minWorkers: 1,
  },
});
