/**
 * The client SDK in a browser (the `browser` export condition): everything but connecting by TCP.
 * Connect with `wsconnect` from `@nats-io/nats-core` and pass the connection to `createClient`.
 */
export {
  createClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_INLINE_PAYLOAD_LIMIT,
  type Client,
  type ClientOptions,
  type WatchEvent,
  type WatchOptions,
  type ResultOptions,
  type SubmitOptions,
} from './client.js';
