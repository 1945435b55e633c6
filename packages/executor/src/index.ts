export { createExecutor, type Executor } from './executor.js';
export {
  compileExecutorOptions,
  profileOf,
  DEFAULT_CONCURRENCY,
  DEFAULT_DRAIN_TIMEOUT_MS,
  type ExecutorOptions,
  type ExecutorConfig,
  type Handler,
  type HandlerContext,
} from './options.js';
export { NonRetryableError, RetryAfterError } from '@jetsched/protocol';
