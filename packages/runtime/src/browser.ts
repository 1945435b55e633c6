/**
 * What a browser may import of the runtime (the `browser` export condition): the request/reply
 * framing and the transient-error test the client SDK uses, and nothing that needs Node (no
 * connection by TCP, no logger, no metrics server). The dashboard's page bundles this.
 */
export { contentHeaders, msgContentType, decodeMsg, replyOk, replyError } from './api-codec.js';
export { isTransientNatsError, retryTransient } from './transient.js';
export type { ConnectOptions } from './connection.js';
