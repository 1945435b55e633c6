/**
 * Every running role announces itself as a NATS service (the service API of ADR-32, as `nats micro
 * ls`, `nats micro info` and `nats micro stats` read it): name `jetsched-<role>`, id the actor's id,
 * metadata with the prefix, host and process id (and an executor's group), and two endpoints:
 * - `health` on `<prefix>.health.<role>.<id>`: the actor's health as JSON;
 * - `metrics` on `<prefix>.metrics`, one subject for every actor and without a queue group: each
 *   answers with its process's `jetsched_*` Prometheus metrics as JSON ({@link MetricsReply}), so one request
 *   with many replies reads the whole cluster (what the dashboard plots). Actors of one process
 *   share a registry; the reply names it, so a reader counts each process once.
 * Written here rather than with `@nats-io/services`, which exists only as a pre-release on an older
 * core.
 */
import { hostname } from 'node:os';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import { encodeJson, names } from '@jetsched/protocol';
import { jetschedMetricsJson, registryId } from './metrics.js';
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
  /** What the `metrics` endpoint answers with: the process's registry. */
  registry: Registry;
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

/** What the `metrics` endpoint answers (JSON). */
export interface MetricsReply {
  role: string;
  id: string;
  host: string;
  pid: number;
  /** The process's registry: replies with the same one carry the same metrics. */
  registry: string;
  /** When the metrics were read, ms since the epoch. */
  at: number;
  /** prom-client's JSON form: `[{ name, type, help, values: [{ labels, value, metricName? }] }]`. */
  metrics: MetricObjectWithValues<MetricValue<string>>[];
}

interface Endpoint {
  name: string;
  subject: string;
  queue_group: string;
  requests: number;
  errors: number;
  lastError: string;
  nanos: number;
}

export class ServiceAnnouncement {
  readonly #subs: Subscription[] = [];
  readonly #started = new Date().toISOString();
  readonly #endpoints: Endpoint[];
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
    const n = names(opts.prefix);
    const endpoint = (name: string, subject: string): Endpoint => ({
      name,
      subject,
      queue_group: '',
      requests: 0,
      errors: 0,
      lastError: '',
      nanos: 0,
    });
    const health = endpoint('health', n.healthSubject(opts.role, opts.id));
    const metrics = endpoint('metrics', n.metricsSubject());
    this.#endpoints = [health, metrics];
    for (const verb of ['PING', 'INFO', 'STATS'] as const) {
      for (const subject of [
        `$SRV.${verb}`,
        `$SRV.${verb}.${this.#name}`,
        `$SRV.${verb}.${this.#name}.${opts.id}`,
      ]) {
        this.#subs.push(nc.subscribe(subject, { callback: (_err, m) => this.#discovery(verb, m) }));
      }
    }
    this.#serve(health, () => opts.health());
    this.#serve(metrics, async (): Promise<MetricsReply> => ({
      role: opts.role,
      id: opts.id,
      host: this.#metadata['host'] ?? '',
      pid: process.pid,
      registry: registryId(opts.registry),
      at: Date.now(),
      metrics: await jetschedMetricsJson(opts.registry),
    }));
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
    const eps = this.#endpoints.map((e) => ({
      name: e.name,
      subject: e.subject,
      queue_group: e.queue_group,
    }));
    let body: Record<string, unknown>;
    if (verb === 'PING') body = this.#base('ping_response');
    else if (verb === 'INFO')
      body = {
        ...this.#base('info_response'),
        description: this.opts.description,
        endpoints: eps.map((ep) => ({ ...ep, metadata: {} })),
      };
    else
      body = {
        ...this.#base('stats_response'),
        started: this.#started,
        endpoints: this.#endpoints.map((e, i) => ({
          ...eps[i],
          num_requests: e.requests,
          num_errors: e.errors,
          last_error: e.lastError,
          processing_time: e.nanos,
          average_processing_time: e.requests === 0 ? 0 : Math.trunc(e.nanos / e.requests),
        })),
      };
    m.respond(encodeJson(body));
  }

  /** Answers requests on `e` with what `answer` gives, as JSON, counting them for `STATS`. */
  #serve(e: Endpoint, answer: () => unknown): void {
    const reply = async (m: Msg): Promise<void> => {
      const t0 = process.hrtime.bigint();
      e.requests++;
      try {
        m.respond(encodeJson(await answer()));
      } catch (err) {
        e.errors++;
        e.lastError = (err as Error).message;
      }
      e.nanos += Number(process.hrtime.bigint() - t0);
    };
    this.#subs.push(this.nc.subscribe(e.subject, { callback: (_err, m) => void reply(m) }));
  }
}
