/**
 * Micro-batching over a durable pull consumer: messages that arrive while a batch is being
 * processed form the next batch. This is the throughput lever (one compare-and-set per task per
 * batch instead of per message) without adding latency when traffic is light.
 */
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';

/**
 * Lifetime of each pull request. The client notices a pull lost with a dead server or a moving
 * consumer leader by missed idle heartbeats (half of this), so it bounds how long work stalls in a
 * failover. @defaultValue 5 s (the library's default of 30 s stalls for up to a minute)
 */
export const PULL_EXPIRES_MS = 5_000;

export interface BatchConsumerOptions {
  /** Most messages handed to one `handle` call. */
  maxBatch: number;
  log: Logger;
  handle(batch: JsMsg[]): Promise<void>;
}

export interface BatchConsumer {
  /** Stops pulling, finishes the batch in progress, resolves when done. */
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

export async function consumeInBatches(
  consumer: Consumer,
  opts: BatchConsumerOptions,
): Promise<BatchConsumer> {
  const messages = await consumer.consume({ max_messages: opts.maxBatch * 2, expires: PULL_EXPIRES_MS });
  const queue: JsMsg[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let stopped = false;

  // reader: moves messages into the local queue, pausing while it is full so the consumer's own
  // buffer (and so the server-side pull) stays bounded
  const reader = (async () => {
    try {
      for await (const m of messages) {
        queue.push(m);
        wake?.();
        while (queue.length >= opts.maxBatch * 2 && !stopped) {
          await new Promise<void>((r) => setTimeout(r, 5));
        }
      }
    } catch (err) {
      if (!stopped) opts.log.error({ err }, 'consumer failed');
    } finally {
      ended = true;
      wake?.();
    }
  })();

  const worker = (async () => {
    for (;;) {
      if (queue.length === 0) {
        if (ended || stopped) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const batch = queue.splice(0, opts.maxBatch);
      try {
        await opts.handle(batch);
      } catch (err) {
        // the batch stays unacked and is redelivered after ack_wait; processing is idempotent
        opts.log.error({ err, size: batch.length }, 'batch failed; it will be redelivered');
      }
    }
  })();

  const done = Promise.all([reader, worker]).then(() => undefined);
  return {
    done,
    async stop() {
      stopped = true;
      messages.stop();
      wake?.();
      await done;
    },
  };
}
