export { createScheduler, type Scheduler } from './scheduler.js';
export {
  compileSchedulerOptions,
  DEFAULT_SCHEDULER_CONCURRENCY,
  DEFAULT_PUBLISH_WINDOW,
  DEFAULT_SCHED_ACK_WAIT_MS,
  DEFAULT_SPLIT_TIMEOUT_MS,
  type SchedulerOptions,
  type SchedulerConfig,
  type Splitter,
  type SplitterContext,
} from './options.js';
export { admit, ADMIT, type Admission, type AdmissionPolicy } from './policy.js';
export { splitTask, loadPayload } from './dispatch.js';
