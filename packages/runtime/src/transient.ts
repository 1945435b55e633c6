/**
 * Errors that say "not now" rather than "no": a request nobody answered (a node just died, a stream
 * leader is moving, a server is restarting), a timeout, JetStream temporarily unavailable, no peers
 * for a replicated stream yet (a cluster still forming, or a node restarting). Safe
 * operations (reads, deduped publishes, idempotent writes) retry them briefly.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { RequestError, TimeoutError } from '@nats-io/nats-core';

// 10008: JetStream system temporarily unavailable
const JS_TEMPORARILY_UNAVAILABLE = 10008;
// 10005: no suitable peers for placement
const JS_NO_PEERS = 10005;

export function isTransientNatsError(err: unknown): boolean {
  if (err instanceof TimeoutError || err instanceof RequestError) return true;
  if (err instanceof JetStreamApiError)
    return err.code === JS_TEMPORARILY_UNAVAILABLE || err.code === JS_NO_PEERS || err.status === 503;
  return err instanceof Error && /no responders|timeout|temporarily unavailable/i.test(err.message);
}

/** Runs `fn`, retrying transient NATS errors with backoff (50 ms, 100 ms, ... up to 1 s). */
export async function retryTransient<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isTransientNatsError(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1_000, 25 * 2 ** i)));
    }
  }
}
