export { createScheduler, type Scheduler } from './scheduler.js';
export {
  compileSchedulerOptions,
  DEFAULT_SPLIT_TIMEOUT_MS,
  DEFAULT_RESCUE_INTERVAL_MS,
  DEFAULT_AGING_MS,
  DEFAULT_PREFETCH,
  type SchedulerOptions,
  type SchedulerConfig,
  type Splitter,
  type SplitterContext,
} from './options.js';
export { DEFAULT_LEASE_MS } from './release-lease.js';
export { splitTask, loadPayload } from './split.js';
export { FairShare, effectivePriority, type ReadyQueue, type ReleasePolicy } from './release-policy.js';
