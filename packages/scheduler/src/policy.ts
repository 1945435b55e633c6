/**
 * Admission policies: where the scheduling policies plug in (delays, cron, dependencies, rate and
 * concurrency limits, fairness). A policy looks at a pending task and says admit now, or ask again
 * later. Policies keep any state they need in JetStream (KV with compare-and-set), never in memory,
 * so they hold across scheduler instances and restarts. See docs/adr/0004-scheduler-policies.md.
 */
import type { TaskRecord } from '@jetsched/protocol';

export type Admission =
  | { kind: 'admit' }
  /** Not yet: the scheduler redelivers the task to itself (or a peer) after `delayMs`. */
  | { kind: 'defer'; delayMs: number; reason: string };

export interface AdmissionPolicy {
  readonly name: string;
  admit(task: TaskRecord): Admission | Promise<Admission>;
}

export const ADMIT: Admission = Object.freeze({ kind: 'admit' });

/** Runs policies in order; the first one that defers decides. */
export async function admit(
  policies: readonly AdmissionPolicy[],
  task: TaskRecord,
): Promise<Admission & { policy?: string }> {
  for (const p of policies) {
    const a = await p.admit(task);
    if (a.kind !== 'admit') return { ...a, policy: p.name };
  }
  return ADMIT;
}
