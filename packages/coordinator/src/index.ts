export { createCoordinator, type Coordinator } from './coordinator.js';
export {
  compileCoordinatorOptions,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_OUTCOME_BATCH,
  DEFAULT_CANCEL_CONFIRM_MS,
  DEFAULT_WAIT_MS,
  DEFAULT_LIST_LIMIT,
  type CoordinatorOptions,
  type CoordinatorConfig,
  type Reducer,
} from './options.js';
export { checkSubmission } from './submit.js';
