/**
 * Work left on the consumer of a handler profile that has no live executor any more (all of them
 * died, or were redeployed with other handlers) goes back to the ready queue, each subtask as a new
 * carrier (`resends` + 1, so it claims before it runs and its dedupe id is its own), to be released
 * again to a profile that serves its type. The group's releaser runs it every rescue interval.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  decode,
  encode,
  ErrorCode,
  Header,
  isValidToken,
  resent,
  toErrorRecord,
  validate,
  WIRE_VERSION,
  type ErrorRecord,
  type OutcomeBatch,
  type TaskFailure,
  type WorkItem,
} from '@jetsched/protocol';
import {
  givenBackMessages,
  isLastDelivery,
  msgContentType,
  rejectMessage,
  type ExecutorRegistry,
  type Logger,
  type Topology,
} from '@jetsched/runtime';
import { signedFailures } from './tokens.js';

/** Messages taken off a consumer per fetch. */
const FETCH = 64;
/** A message that could not be moved comes back after this long. */
const RETRY_DELAY_MS = 5_000;

export async function rescueGroup(
  topo: Topology,
  registry: ExecutorRegistry,
  group: string,
  actor: string,
  log: Logger,
): Promise<void> {
  const prefix = topo.names.consumers.executorPrefix(group);
  for await (const info of topo.jsm.consumers.list(topo.names.streams.work)) {
    const name = info.config.durable_name ?? info.name;
    // queued, or delivered to executors that are gone (it comes back after the ack wait)
    const left = info.num_pending + info.num_ack_pending;
    if (!name.startsWith(prefix) || left === 0) continue;
    const profile = (info.config.filter_subject ?? '').split('.').at(-1);
    if (!profile || registry.live(group).some((a) => a.profile === profile)) continue;
    const consumer = await topo.js.consumers.get(topo.names.streams.work, name);
    let moved = 0;
    for (let todo = left; todo > 0;) {
      const batch = await consumer.fetch({ max_messages: Math.min(FETCH, todo), expires: 1_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        await moveBack(topo, m, group, profile, actor, log);
      }
      if (got === 0) break;
      moved += got;
      todo -= got;
    }
    if (moved > 0)
      log.info({ group, profile, messages: moved }, 'took work off a profile no executor serves any more');
  }
}

/** Puts the subtasks of one work message back in the ready queue; gives it up when it must. */
async function moveBack(
  topo: Topology,
  m: JsMsg,
  group: string,
  profile: string,
  actor: string,
  log: Logger,
): Promise<void> {
  let items: WorkItem[];
  try {
    items = validate('work-batch', decode(m.data, msgContentType(m))).items;
  } catch (err) {
    const reason = toErrorRecord(err, ErrorCode.BadRequest);
    const taskId = m.headers?.get(Header.TaskId);
    await rejectMessage(topo, log, 'work', actor, m, reason, () =>
      taskId && isValidToken(taskId)
        ? failTasks(topo, group, actor, [
            {
              taskId,
              error: { ...reason, message: `a work message for this task was malformed: ${reason.message}` },
            },
          ])
        : Promise.resolve(),
    );
    return;
  }
  try {
    await topo.publisher.publishAllOrThrow(givenBackMessages(topo, group, items.map(resent)));
    m.ack();
  } catch (err) {
    if (!isLastDelivery(m, topo.manifest.consumers.work.maxDeliver)) {
      log.warn({ err, subject: m.subject }, 'could not move a work message back; it comes back later');
      m.nak(RETRY_DELAY_MS);
      return;
    }
    const error: ErrorRecord = {
      code: ErrorCode.MaxDeliveries,
      message: `work could not be moved off profile "${profile}" (no executor serves it) after ${m.info.deliveryCount} deliveries: ${(err as Error).message}`,
      retryable: false,
    };
    const tasks = [...new Set(items.map((i) => i.taskId))];
    await rejectMessage(topo, log, 'work', actor, m, error, () =>
      failTasks(
        topo,
        group,
        actor,
        tasks.map((taskId) => ({ taskId, error })),
      ).catch((e: unknown) =>
        log.error({ err: e, tasks }, 'could not fail the tasks of a work message given up'),
      ),
    );
  }
}

async function failTasks(
  topo: Topology,
  group: string,
  actor: string,
  failures: TaskFailure[],
): Promise<void> {
  const batch: OutcomeBatch = {
    v: WIRE_VERSION,
    kind: 'outcomes',
    from: actor,
    failures: signedFailures(topo.signer, failures),
  };
  await topo.publisher.publishAllOrThrow([
    { subject: topo.names.outcomeSubject(group), data: encode(batch) },
  ]);
}
