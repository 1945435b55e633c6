import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The fault-injection suite runs on its own, after the other tests: its kills and restarts under
// load would otherwise share the two cores with tests that measure timing.
export default mergeConfig(
  base,
  defineConfig({
    test: { include: ['test/faults/**/*.test.ts'], exclude: [], maxWorkers: 1, minWorkers: 1 },
  }),
);
