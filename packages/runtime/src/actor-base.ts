/**
 * What every role shares: its frozen config, the lifecycle, and a start that connects (or uses the
 * given connection) and binds the provisioned topology (refusing to run when it is missing or
 * differs) before the role's own `run`. Roles never create or change streams: `provision` does.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULT_PREFIX, isValidPrefix } from '@jetsched/protocol';
import { silentLogger } from './logger.js';
import { actorConnection, watchConnection, type ConnectOptions } from './connection.js';
import { Lifecycle, type Actor, type ActorState } from './lifecycle.js';
import { metricsOf, type Metrics } from './metrics.js';
import { ServiceAnnouncement, type Health } from './service.js';
import { bindTopology, type Topology } from './topology.js';

/** The options every role takes. */
export interface ActorOptions {
  /** A connection to use; without one the actor connects (see `connection`) and owns it. */
  nc?: NatsConnection;
  /** How to connect when no `nc` is given. @defaultValue `NATS_URL`, `NATS_CREDS` */
  connection?: ConnectOptions;
  /** @defaultValue {@link DEFAULT_PREFIX} */
  prefix?: string;
  /** Root logger; the actor logs through a child bound to its role and id. @defaultValue silent */
  logger?: Logger;
  /** Instance id, in logs and connection names. @defaultValue a random id per role */
  id?: string;
  /**
   * The process's Prometheus registry (the CLI serves it on `--metrics-port`); the actor records its
   * metrics there. @defaultValue a registry of its own that nobody reads
   */
  metrics?: Registry;
}

/** The config fields every role's compiled options have. */
export interface ActorConfig {
  readonly role: string;
  readonly id: string;
  readonly prefix: string;
  readonly log: Logger;
  readonly nc: NatsConnection | undefined;
  readonly connection: ConnectOptions;
  readonly metrics: Metrics;
  /** Log bindings that describe the instance (an executor's group), also in its service metadata. */
  readonly bindings: Readonly<Record<string, string>>;
}

/** Applies the defaults of {@link ActorOptions}; each role adds its own fields and freezes the result. */
export function compileActorConfig(
  role: string,
  id: string,
  o: ActorOptions,
  logBindings: Record<string, string> = {},
): ActorConfig {
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  if (!isValidPrefix(prefix)) throw new Error(`invalid prefix ${JSON.stringify(prefix)}`);
  return {
    role,
    id,
    prefix,
    nc: o.nc,
    connection: { name: `jetsched-${role}-${id}`, ...(o.connection ?? {}) },
    log: (o.logger ?? silentLogger()).child({ actor: role, id, ...logBindings }),
    metrics: metricsOf(o.metrics),
    bindings: logBindings,
  };
}

export abstract class ActorBase<C extends ActorConfig> implements Actor {
  protected readonly cfg: C;
  protected readonly life: Lifecycle;
  #topo: Topology | undefined;
  #connected = false;

  constructor(cfg: C) {
    this.cfg = cfg;
    this.life = new Lifecycle(cfg.log);
  }

  get id(): string {
    return this.cfg.id;
  }
  get state(): ActorState {
    return this.life.state;
  }
  get closed(): Promise<void> {
    return this.life.closed;
  }
  /** The JetStream resources, once started. */
  get topology(): Topology | undefined {
    return this.#topo;
  }

  /** The topology of a started actor (for the role's handlers, which run only after start). */
  protected get topo(): Topology {
    if (!this.#topo) throw new Error(`${this.cfg.id} is not started`);
    return this.#topo;
  }

  /** What the role's `health` service endpoint and the process's `/readyz` say. */
  health(): Health {
    const state = this.life.state;
    return {
      role: this.cfg.role,
      id: this.cfg.id,
      state,
      connected: this.#connected,
      ready: state === 'running' && this.#connected,
    };
  }

  start(): Promise<void> {
    return this.life.start(async () => {
      const nc = await actorConnection(this.cfg.nc, this.cfg.connection, (n, fn) => this.life.onClose(n, fn));
      this.#connected = !nc.isClosed();
      watchConnection(nc, this.cfg.log, (up) => (this.#connected = up));
      this.#topo = await bindTopology(nc, this.cfg.prefix, this.cfg.metrics);
      const service = new ServiceAnnouncement(nc, {
        role: this.cfg.role,
        id: this.cfg.id,
        prefix: this.cfg.prefix,
        description: `jetsched ${this.cfg.role}`,
        metadata: { ...this.cfg.bindings },
        health: () => this.health(),
        registry: this.cfg.metrics.registry,
      });
      this.life.onClose('service', () => service.stop());
      this.life.onClose('publisher', () => this.#topo?.publisher.close());
      await this.run(this.#topo);
    });
  }

  close(): Promise<void> {
    return this.life.close();
  }

  /** Starts the role's work; cleanups are registered with `this.life.onClose` (run in reverse). */
  protected abstract run(topo: Topology): Promise<void>;
}
