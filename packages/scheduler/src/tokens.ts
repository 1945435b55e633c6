/**
 * What the scheduler signs with the cluster's key (ADR 0026): each work item it releases gets its
 * attempt's token, which the outcome must carry back; each task it fails (a split that failed) a
 * task token. The coordinator refuses outcomes and failures without them.
 */
import type { TaskFailure, WorkItem } from '@jetsched/protocol';
import type { Signer } from '@jetsched/runtime';

export function withAttemptToken(signer: Signer, item: WorkItem): WorkItem {
  return { ...item, token: signer.attemptToken(item.taskId, item.index, item.attempt) };
}

export function signedFailures(signer: Signer, failures: readonly TaskFailure[]): TaskFailure[] {
  return failures.map((f) => ({ taskId: f.taskId, error: f.error, token: signer.taskToken(f.taskId) }));
}
