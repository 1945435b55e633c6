export { run } from './run.js';
export { createProgram } from './program.js';
export { loadJobsModule, type JobsModule } from './jobs-module.js';
export { parseSplit } from './commands/task-flags.js';
export {
  spawnRole,
  BIN_PATH,
  type RoleProcess,
  type RoleName,
  type RoleProcessOptions,
} from './role-process.js';
export type { QueueReport, QueueGroupReport, QueueTypeReport } from './commands/queue.js';
export { mulberry32 } from './demo/corpus.js';
