export {
  connectNats,
  actorConnection,
  assertServerVersion,
  DEFAULT_NATS_URL,
  type ConnectOptions,
} from './connection.js';
export {
  ensureTopology,
  ensureExecutorConsumer,
  ensureConsumer,
  topologyConfig,
  DEFAULT_TASK_RETENTION_MS,
  DEFAULT_EVENT_RETENTION_MS,
  DEFAULT_DLQ_RETENTION_MS,
  DEFAULT_DUPLICATE_WINDOW_MS,
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_GROUP_MAX_ACK_PENDING,
  type Topology,
  type TopologyOptions,
  type TopologyConfig,
} from './topology.js';
export { isCasConflict, createIfAbsent, casUpdate, type CasResult, type Versioned } from './kv-cas.js';
export { createLogger, silentLogger, type Logger, type LoggerConfig } from './logger.js';
export { Lifecycle, ActorState, type Actor } from './lifecycle.js';
export { deadLetter, rejectMessage } from './dead-letter.js';
export { contentHeaders, msgContentType, decodeMsg, replyOk, replyError } from './api-codec.js';
export { TaskStore, RESULT_INLINE_LIMIT, type TaskStoreChange, type StoredTask } from './task-store.js';
export { scanBucket, type ScannedEntry } from './stream-scan.js';
export {
  consumeInBatches,
  PULL_EXPIRES_MS,
  type BatchConsumer,
  type BatchConsumerOptions,
} from './batch-consumer.js';
export {
  publishDeduped,
  DEFAULT_PUBLISH_ATTEMPTS,
  maxBodyBytes,
  MESSAGE_OVERHEAD_BYTES,
  subtaskHeaders,
} from './publish.js';
export { isTransientNatsError, retryTransient } from './transient.js';
export { ActorBase, compileActorConfig, type ActorConfig, type ActorOptions } from './actor-base.js';
