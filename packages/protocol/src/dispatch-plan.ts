/**
 * Which work messages carry which subtasks. Pure and deterministic in (total, per message): a
 * scheduler that re-dispatches after a crash forms the same messages with the same dedupe ids, and
 * leaves out subtasks whose outcome is recorded already.
 */

/** One work message: subtasks `first..last` of the fixed grouping, minus those already done. */
export interface WorkMessagePlan {
  first: number;
  last: number;
  /** Indexes to send, ascending; never empty. */
  indexes: number[];
}

/**
 * Groups subtask indexes `0..total-1` into runs of `perMessage`, skipping done subtasks and runs
 * with nothing left to do.
 */
export function planWorkMessages(
  total: number,
  perMessage: number,
  isDone: (index: number) => boolean = () => false,
): WorkMessagePlan[] {
  const per = Math.max(1, Math.floor(perMessage));
  const plans: WorkMessagePlan[] = [];
  for (let first = 0; first < total; first += per) {
    const last = Math.min(total, first + per) - 1;
    const indexes: number[] = [];
    for (let i = first; i <= last; i++) if (!isDone(i)) indexes.push(i);
    if (indexes.length > 0) plans.push({ first, last, indexes });
  }
  return plans;
}
