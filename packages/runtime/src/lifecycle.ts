/**
 * The lifecycle every long-lived actor shares: an explicit state with guards, and an idempotent
 * `close()` that runs every cleanup step even when one fails.
 */
import type { Logger } from 'pino';
import type { Health } from './service.js';

export const ActorState = {
  Created: 'created',
  Starting: 'starting',
  Running: 'running',
  Draining: 'draining',
  Stopped: 'stopped',
} as const;
export type ActorState = (typeof ActorState)[keyof typeof ActorState];

/** What every role exposes. */
export interface Actor {
  readonly id: string;
  readonly state: ActorState;
  start(): Promise<void>;
  /** Stops taking work, finishes what is in flight, releases resources. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the actor has stopped (after close, or a fatal error). */
  readonly closed: Promise<void>;
  /** Its state, whether it is connected, and so whether it is ready (see ./service.ts). */
  health(): Health;
}

type Cleanup = () => unknown;

export class Lifecycle {
  #state: ActorState = ActorState.Created;
  #closing: Promise<void> | undefined;
  #cleanups: { name: string; fn: Cleanup }[] = [];
  #resolveClosed!: () => void;
  readonly closed: Promise<void> = new Promise((r) => (this.#resolveClosed = r));

  constructor(private readonly log: Logger) {}

  get state(): ActorState {
    return this.#state;
  }

  get running(): boolean {
    return this.#state === ActorState.Running;
  }

  /** Runs `fn` as the start step; an actor starts once. */
  async start(fn: () => Promise<void>): Promise<void> {
    if (this.#state !== ActorState.Created) throw new Error(`cannot start an actor in state ${this.#state}`);
    this.#state = ActorState.Starting;
    try {
      await fn();
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.#state === ActorState.Starting) {
      this.#state = ActorState.Running;
      this.log.info('started');
    }
  }

  /** Registers a cleanup step; steps run in reverse order of registration. */
  onClose(name: string, fn: Cleanup): void {
    this.#cleanups.push({ name, fn });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = ActorState.Draining;
      for (const { name, fn } of [...this.#cleanups].reverse()) {
        try {
          await fn();
        } catch (err) {
          this.log.warn({ err, step: name }, 'cleanup step failed');
        }
      }
      this.#state = ActorState.Stopped;
      this.log.info('stopped');
      this.#resolveClosed();
    })();
    return this.#closing;
  }
}
