export {
  connectNats,
  actorConnection,
  assertServerVersion,
  DEFAULT_NATS_URL,
  type ConnectOptions,
  type TlsFiles,
} from './connection.js';
export { bindTopology, readManifest, type Topology } from './topology.js';
export { provision, MANIFEST_KEY, type ProvisionResult } from './provision.js';
export {
  manifestFor,
  streamSpecs,
  consumerSpecs,
  consumerSettings,
  consumerDifferences,
  executorConsumerSpec,
  TOPOLOGY_LAYOUT,
  DEFAULT_CONSUMERS,
  DEFAULT_TASK_RETENTION_MS,
  DEFAULT_STOP_RETENTION_MS,
  DEFAULT_DLQ_RETENTION_MS,
  DEFAULT_DUPLICATE_WINDOW_MS,
  EXECUTOR_ADVERT_TTL_MS,
  type TopologyOptions,
} from './topology-spec.js';
export {
  Publisher,
  PublishError,
  maxBodyBytes,
  MESSAGE_OVERHEAD_BYTES,
  DEFAULT_PUBLISH_WINDOW,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  DEFAULT_PUBLISH_ATTEMPTS,
  toError,
  type OutMsg,
  type HeaderPairs,
  type PubResult,
  type PubFailure,
  type PublisherOptions,
} from './publisher.js';
export {
  TaskStore,
  RecordCache,
  decodeTask,
  recordHeaders,
  RESULT_INLINE_LIMIT,
  type StoredTask,
  type RecordWrite,
  type WriteResult,
  type Beside,
} from './task-store.js';
export { StopGate } from './stop-gate.js';
export { ExecutorRegistry, Advertiser, DEFAULT_HEARTBEAT_MS, type AdvertSource } from './registry.js';
export { isLive } from '@jetsched/protocol';
export { failpoint, failpointsEnabled } from './failpoints.js';
export { createLogger, silentLogger, type Logger, type LoggerConfig } from './logger.js';
export { Lifecycle, ActorState, type Actor } from './lifecycle.js';
export { deadLetter, rejectMessage, isLastDelivery, type DeadMessage } from './dead-letter.js';
export { contentHeaders, msgContentType, decodeMsg, replyOk, replyError } from './api-codec.js';
export { scanBucket, type ScannedEntry } from './stream-scan.js';
export {
  consumeInBatches,
  PULL_EXPIRES_MS,
  type BatchConsumer,
  type BatchConsumerOptions,
} from './batch-consumer.js';
export { isTransientNatsError, retryTransient } from './transient.js';
export { positiveInt, nonNegativeInt } from './option-checks.js';
export { ActorBase, compileActorConfig, type ActorConfig, type ActorOptions } from './actor-base.js';
export { GroupCommit } from './group-commit.js';
export { Signer, SIGNATURE_HEADER, SIGNING_KEYS_KEY, type SigningKey, type SigningKeys } from './signing.js';
export { givenBackMessages } from './ready.js';
export { defaultGroupSettings, readGroupSettings, updateGroupSettings } from './group-settings.js';
export { createRegistry, metricsOf, type Metrics } from './metrics.js';
export type { Registry } from 'prom-client';
export { startHealthServer, type HealthServer, type HealthServerOptions } from './health-server.js';
export { ServiceAnnouncement, type Health } from './service.js';
export { JETSCHED_VERSION } from './version.js';
