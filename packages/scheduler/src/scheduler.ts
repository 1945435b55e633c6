/**
 * The scheduler actor: decides when, in what order and where work runs (ADR 0018). Any number run
 * at once; for each executor group exactly one of them releases at a time, holding the group's
 * release lease (./release-lease.ts), and the others wait to take it over. The holder turns the
 * group's ready queue into work messages as the group's executors have room (./releaser.ts), and
 * moves work off handler profiles that have no executor left (./rescue.ts).
 *
 * It writes no task record: what it learns (a split that failed) it tells the coordinators on the
 * outcomes stream.
 */
import {
  ActorBase,
  ExecutorRegistry,
  StopGate,
  TaskStore,
  type Actor,
  type Topology,
} from '@jetsched/runtime';
import { compileSchedulerOptions, type SchedulerConfig, type SchedulerOptions } from './options.js';
import { ReleaseLease } from './release-lease.js';
import { GroupReleaser } from './releaser.js';
import { rescueGroup } from './rescue.js';

/** How often a scheduler looks for group leases to take (besides when executors come and go). */
const ACQUIRE_EVERY_MS = 1_000;

export interface Scheduler extends Actor {
  /** The groups this scheduler releases for now. */
  readonly groups: string[];
}

class SchedulerImpl extends ActorBase<SchedulerConfig> implements Scheduler {
  readonly #releasers = new Map<string, GroupReleaser>();
  readonly #acquiring = new Set<string>();

  get groups(): string[] {
    return [...this.#releasers.keys()];
  }

  protected async run(topo: Topology): Promise<void> {
    const cfg = this.cfg;
    const registry = await ExecutorRegistry.watch(topo, cfg.log);
    this.life.onClose('executor-registry', () => registry.close());
    const gate = await StopGate.open(topo, cfg.log);
    this.life.onClose('stop-gate', () => gate.close());
    const store = new TaskStore(topo);
    let closing = false;
    this.life.onClose(
      'metrics',
      topo.metrics.onCollect(() => this.#collect(topo)),
    );

    const acquire = (): void => {
      if (closing) return;
      // a group is worth releasing for while some executor of it is live
      const groups = new Set(registry.live().map((a) => a.group));
      for (const group of groups) {
        if (this.#releasers.has(group) || this.#acquiring.has(group)) continue;
        this.#acquiring.add(group);
        void this.#tryAcquire(topo, store, registry, gate, group)
          .catch((err: unknown) => cfg.log.warn({ err, group }, 'could not take a release lease'))
          .finally(() => this.#acquiring.delete(group));
      }
      for (const r of this.#releasers.values()) r.kick();
    };
    registry.onChange(acquire);
    const timer = setInterval(acquire, ACQUIRE_EVERY_MS);
    const rescue = setInterval(() => {
      for (const group of this.#releasers.keys()) {
        rescueGroup(topo, registry, group, cfg.id, cfg.log).catch((err: unknown) =>
          cfg.log.warn({ err, group }, 'rescue round failed'),
        );
      }
    }, cfg.rescueIntervalMs);
    this.life.onClose('releasers', async () => {
      closing = true;
      clearInterval(timer);
      clearInterval(rescue);
      // let the leases go, so that another scheduler takes over at once rather than after they expire
      await Promise.all([...this.#releasers.values()].map((r) => r.close({ release: true })));
      this.#releasers.clear();
    });
    acquire();
  }

  /** The ready queues of the groups this scheduler releases for, as the gauges of the next scrape. */
  #collect(topo: Topology): void {
    const { queueReady, queueOldest } = topo.metrics;
    queueReady.reset();
    queueOldest.reset();
    for (const r of this.#releasers.values()) {
      const byPriority = new Map<number, { waiting: number; oldestMs: number }>();
      for (const q of r.status?.queues ?? []) {
        const p = byPriority.get(q.priority) ?? { waiting: 0, oldestMs: 0 };
        p.waiting += q.waiting;
        p.oldestMs = Math.max(p.oldestMs, q.oldestMs ?? 0);
        byPriority.set(q.priority, p);
      }
      for (const [priority, p] of byPriority) {
        const labels = { group: r.group, priority: String(priority) };
        queueReady.set(labels, p.waiting);
        queueOldest.set(labels, p.oldestMs / 1000);
      }
    }
  }

  async #tryAcquire(
    topo: Topology,
    store: TaskStore,
    registry: ExecutorRegistry,
    gate: StopGate,
    group: string,
  ): Promise<void> {
    const lease = await ReleaseLease.acquire(topo, group, this.cfg.id, this.cfg.leaseMs);
    if (!lease) return;
    const releaser = new GroupReleaser(topo, store, this.cfg, registry, gate, lease, () =>
      this.#releasers.delete(group),
    );
    this.#releasers.set(group, releaser);
    try {
      await releaser.start();
    } catch (err) {
      this.#releasers.delete(group);
      await releaser.close({ release: true });
      throw err;
    }
  }
}

export function createScheduler(opts: SchedulerOptions): Scheduler {
  return new SchedulerImpl(compileSchedulerOptions(opts));
}
