/**
 * Outcomes leave in group commits: the items of every subtask that finished while the previous
 * outcome message was being stored go together in the next one (items of any tasks, packed up to the
 * server's max_payload), and a lone outcome leaves at once. Each caller learns when its items are
 * stored, and only then acks the work message they came from.
 */
import {
  encode,
  Header,
  MAX_ITEMS_PER_MESSAGE,
  packMessages,
  packWithItems,
  WIRE_VERSION,
  type OutcomeBatch,
  type TaskFailure,
} from '@jetsched/protocol';
import { GroupCommit, maxBodyBytes, toError, type OutMsg, type Topology } from '@jetsched/runtime';

export class OutcomeSender {
  readonly #commit: GroupCommit<Uint8Array, Error | undefined>;

  constructor(
    private readonly topo: Topology,
    private readonly group: string,
    private readonly from: string,
  ) {
    this.#commit = new GroupCommit((items) => this.#round(items), 2);
  }

  /** Stores encoded outcome items; resolves once all are stored, throws if one is not. */
  async send(items: readonly Uint8Array[]): Promise<void> {
    if (items.length === 0) return;
    const errors = await this.#commit.addAll(items);
    const err = errors.find((e) => e !== undefined);
    if (err) throw err;
  }

  /** Tells the coordinators of tasks that cannot go on (given up after max deliveries, ...). */
  async fail(failures: readonly TaskFailure[]): Promise<void> {
    if (failures.length === 0) return;
    const out: OutcomeBatch = { v: WIRE_VERSION, kind: 'outcomes', from: this.from, failures: [...failures] };
    await this.topo.publisher.publishAllOrThrow([
      { subject: this.topo.names.outcomeSubject(this.group), data: encode(out) },
    ]);
  }

  async #round(items: Uint8Array[]): Promise<(Error | undefined)[]> {
    const packs = packMessages(
      items.map((b) => ({ size: b.length })),
      MAX_ITEMS_PER_MESSAGE,
      maxBodyBytes(this.topo.nc),
    );
    const msgs: OutMsg[] = packs.map((pack) => {
      return {
        subject: this.topo.names.outcomeSubject(this.group),
        data: packWithItems(
          { v: WIRE_VERSION, kind: 'outcomes', from: this.from },
          'items',
          pack.map((i) => items[i] as Uint8Array),
        ),
        headers: [[Header.Items, String(pack.length)]],
      };
    });
    const results = await this.topo.publisher.publishAll(msgs);
    const errors = new Array<Error | undefined>(items.length);
    results.forEach((r, k) => {
      if (!r.ok) for (const i of packs[k] as number[]) errors[i] = toError(r.error);
    });
    return errors;
  }
}
