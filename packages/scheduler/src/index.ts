export { createScheduler, type Scheduler } from './scheduler.js';
export {
  compileSchedulerOptions,
  DEFAULT_SPLIT_TIMEOUT_MS,
  DEFAULT_HANDOFF_BATCH,
  DEFAULT_RESCUE_INTERVAL_MS,
  DEFAULT_PARKED_RECHECK_MS,
  type SchedulerOptions,
  type SchedulerConfig,
  type Splitter,
  type SplitterContext,
} from './options.js';
export { splitTask, loadPayload } from './split.js';
