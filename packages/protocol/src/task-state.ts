/**
 * The task states. Which moves are allowed, and every next record, is computed in ./transitions.ts.
 *
 * `delayed`: recorded, held by a server-side schedule until its `runAt`; then `pending`.
 * `pending`: recorded, waiting to run (queued, or held until an executor serves its type).
 * `running`: a subtask has run for a while, or an outcome is recorded and more are due.
 * `succeeded`, `failed`, `cancelled`: terminal, never change again.
 */
export const TaskState = {
  Delayed: 'delayed',
  Pending: 'pending',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Cancelled: 'cancelled',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export const TASK_STATES: readonly TaskState[] = Object.values(TaskState);
export const TERMINAL_STATES: readonly TaskState[] = [
  TaskState.Succeeded,
  TaskState.Failed,
  TaskState.Cancelled,
];

const TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  // a delayed task's work can report before its record is marked pending (they race at the due time)
  delayed: ['pending', 'running', 'succeeded', 'failed', 'cancelled'],
  pending: ['running', 'succeeded', 'failed', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function canTransition(from: TaskState, to: TaskState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTaskState(value: unknown): value is TaskState {
  return typeof value === 'string' && (TASK_STATES as readonly string[]).includes(value);
}
