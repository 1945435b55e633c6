/**
 * Every running role announces itself as a NATS service (the service API of ADR-32, as `nats micro
 * ls`, `nats micro info` and `nats micro stats` read it): name `jetsched-<role>`, id the actor's id,
 * metadata with the prefix, host and process id (and an executor's group), and one endpoint,
 * `health`, on `<prefix>.health.<role>.<id>`, that answers with the actor's health as JSON. Written
 * here rather than with `@nats-io/services`, which exists only as a pre-release on an older core.
 */
import { hostname } from 'node:os';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { encodeJson } from '@jetsched/protocol';
import { JETSCHED_VERSION } from './version.js';

export interface ServiceOptions {
  role: string;
  id: string;
  prefix: string;
  description: string;
  /** Extra metadata (an executor's group, say). */
  metadata?: Record<string, string>;
  /** What the `health` endpoint answers. */
  health: () => Health;
}

/** A role's health, as its `health` endpoint and the HTTP `/readyz` say it. */
export interface Health {
  role: string;
  id: string;
  /** The actor's lifecycle state (created, starting, running, draining, stopped). */
  state: string;
  /** Connected to a NATS server now. */
  connected: boolean;
  /** Running and connected: it does its work. */
  ready: boolean;
}

interface Endpoint {
  name: string;
  subject: string;
  requests: number;
  errors: number;
  lastError: string;
  nanos: number;
}

export class ServiceAnnouncement {
  readonly #subs: Subscription[] = [];
  readonly #started = new Date().toISOString();
  readonly #endpoint: Endpoint;
  readonly #name: string;
  readonly #metadata: Record<string, string>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: ServiceOptions,
  ) {
    this.#name = `jetsched-${opts.role}`;
    this.#metadata = {
      prefix: opts.prefix,
      host: hostname(),
      pid: String(process.pid),
      ...(opts.metadata ?? {}),
    };
    this.#endpoint = {
      name: 'health',
      subject: `${opts.prefix}.health.${opts.role}.${opts.id}`,
      requests: 0,
      errors: 0,
      lastError: '',
      nanos: 0,
    };
    for (const verb of ['PING', 'INFO', 'STATS'] as const) {
      for (const subject of [
        `$SRV.${verb}`,
        `$SRV.${verb}.${this.#name}`,
        `$SRV.${verb}.${this.#name}.${opts.id}`,
      ]) {
        this.#subs.push(nc.subscribe(subject, { callback: (_err, m) => this.#discovery(verb, m) }));
      }
    }
    this.#subs.push(nc.subscribe(this.#endpoint.subject, { callback: (_err, m) => this.#health(m) }));
  }

  /** Stops answering (drains its subscriptions). */
  async stop(): Promise<void> {
    await Promise.allSettled(this.#subs.map((s) => s.drain()));
  }

  #base(type: string): Record<string, unknown> {
    return {
      type: `io.nats.micro.v1.${type}`,
      name: this.#name,
      id: this.opts.id,
      version: JETSCHED_VERSION,
      metadata: this.#metadata,
    };
  }

  #discovery(verb: 'PING' | 'INFO' | 'STATS', m: Msg): void {
    const e = this.#endpoint;
    const ep = { name: e.name, subject: e.subject, queue_group: '' };
    let body: Record<string, unknown>;
    if (verb === 'PING') body = this.#base('ping_response');
    else if (verb === 'INFO')
      body = {
        ...this.#base('info_response'),
        description: this.opts.description,
        endpoints: [{ ...ep, metadata: {} }],
      };
    else
      body = {
        ...this.#base('stats_response'),
        started: this.#started,
        endpoints: [
          {
            ...ep,
            num_requests: e.requests,
            num_errors: e.errors,
            last_error: e.lastError,
            processing_time: e.nanos,
            average_processing_time: e.requests === 0 ? 0 : Math.trunc(e.nanos / e.requests),
          },
        ],
      };
    m.respond(encodeJson(body));
  }

  #health(m: Msg): void {
    const t0 = process.hrtime.bigint();
    const e = this.#endpoint;
    e.requests++;
    try {
      m.respond(encodeJson(this.opts.health()));
    } catch (err) {
      e.errors++;
      e.lastError = (err as Error).message;
    }
    e.nanos += Number(process.hrtime.bigint() - t0);
  }
}
