/** The `jetsched` command line, as a library function that tests call directly. */
import { JETSCHED_VERSION } from '@jetsched/runtime';
import { clusterCommand } from './commands/cluster.js';
import { dlqCommand } from './commands/dlq.js';
import { completionCommand } from './commands/completion.js';
import { decodeCommand } from './commands/decode.js';
import { topCommand } from './commands/top.js';
import { demoCommand } from './commands/demo.js';
import { groupCommand, pauseCommand } from './commands/groups.js';
import { queueCommand } from './commands/queue.js';
import { roleCommand } from './commands/roles.js';
import { provisionCommand } from './commands/provision.js';
import { scheduleCommand } from './commands/schedules.js';
import { commandHelp } from './help.js';
import {
  cancelCommand,
  attemptsCommand,
  executorsCommand,
  lsCommand,
  statusCommand,
  submitCommand,
  watchCommand,
} from './commands/tasks.js';

export const USAGE = `usage: jetsched <command> [options]

setup (once per cluster, and after an upgrade; roles refuse to start without it):
  provision   [--replicas N] [--task-retention-ms MS] [--work-ack-wait-ms MS] [--work-max-deliver N]
              [--outcomes-ack-wait-ms MS] [--work-max-ack-pending N] ...
              [--rotate-key]              create or update streams, buckets and consumers; settings
                                          not given keep what was provisioned before

roles (run until SIGTERM/SIGINT, then drain: executors let running handlers finish for up to
--drain-timeout-ms 25000; every role exits by that plus 4 s; --metrics-port P serves /metrics,
/healthz and /readyz over HTTP, 0 picks a free port):
  coordinator [--handlers jobs.js]        serve the API, record outcomes (reducers from jobs.js)
              [--due-spread-ms 1000]      delayed tasks due at one moment fire spread over this
              [--orphan-check-ms 30000]   a task whose coordinator died mid-submit is handed on
                                          by then (1000-60000)
  scheduler   [--handlers jobs.js]        split tasks and release them by priority, fairness and limits
  executor    --handlers jobs.js [--group G] [--concurrency N]
  dev         [--handlers jobs.js] [--executors N]
                                          provisions, then all roles in one process; starts its
                                          own nats-server unless --server/NATS_URL is given
  demo        [--mb 4] [--chunk 1000]     word count over generated text on a local cluster
  cluster     [--handlers jobs.js] [--coordinators 2] [--schedulers 2] [--executors 3]
                                          3 nats-servers with routes (R3) and every role as its
                                          own process, on loopback; no Docker needed

tasks:
  submit <type> [--payload JSON | --payload-file F] [--split items:10|range:0:100:10|custom]
                [--aggregate collect|reduce|none] [--group G] [--tenant T] [--priority 0-9]
                [--key IDEMPOTENCY-KEY] [--timeout-ms N] [--per-message K] [--require-executor]
                [--delay 90s|15m|2h | --at ISO-DATE] [--wait]
                [--attempts N [--backoff fixed:1s|exponential:500ms[:5m]] [--jitter 0.2]]
                [--deadline 10m] [--max-failures N | --max-failure-ratio 0.1]
  status <id> [--result] [--json]  ls [--state S] [--type T] [--tenant T] [-n N] [--json]
  watch <id>                   cancel <id> [--reason TEXT]
  attempts <id>                failed attempts of its subtasks: error, stack, input, executor
  dlq ls [--source S] [--type T] [--task ID] [-n N] [--json]    dlq show <seq>
  dlq retry <seq> | --all [--type T] [--task ID]   run dead subtasks again, each as a new task
  dlq purge <seq> | --all [--source S] [--type T] [--task ID]
  executors [--group G]        live executors and the types they serve

groups:
  top [--group G] [--once]     live view: executors and their slots, queues, what holds work back
  queue [--group G] [--json]   what waits and why, per group and type: ready (the releaser's count),
                               delayed, the oldest wait, the limit or setting holding work back
  pause <group> [--type T]     resume <group> [--type T]
  group <group> [--set JSON] [--json]  a group's settings; --set replaces them, e.g.
                               '{"limits":[{"id":"c","per":"key","concurrency":2}]}' or, retries
                               by task type ("*": any), '{"retry":{"*":{"maxAttempts":3}}}'

schedules (cron with a time zone, or a fixed interval; each occurrence creates one task):
  schedule create <id> <type> (--cron "0 */5 * * * *" [--tz Europe/Paris] | --every 30s)
                [task flags as for submit] [--missed once|skip] [--missed-after 60s]
                [--overlap allow|skip] [--paused]    create, or replace the definition of <id>
  schedule ls [--json]         schedule show|pause|resume|delete|trigger <id>

reading with the nats CLI:
  decode                       msgpack or JSON on stdin as indented JSON, e.g.
                               nats kv get JETSCHED_tasks <id>.result --raw | jetsched decode

shell completion: eval "$(jetsched completion bash)" (or zsh)

jetsched <command> --help shows a command's options and examples; jetsched --version its version.

common: --server URL (NATS_URL)  --creds FILE (NATS_CREDS)  --prefix P (JETSCHED_PREFIX, default jetsched)
        --log-level L (LOG_LEVEL)
`;

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(commandHelp(cmd) ?? USAGE);
    return 0;
  }
  switch (cmd) {
    case '--version':
    case '-V':
    case 'version':
      process.stdout.write(`jetsched ${JETSCHED_VERSION}\n`);
      return 0;
    case 'coordinator':
    case 'scheduler':
    case 'executor':
    case 'dev':
      return roleCommand(cmd, rest);
    case 'provision':
      return provisionCommand(rest);
    case 'executors':
      return executorsCommand(rest);
    case 'demo':
      return demoCommand(rest);
    case 'cluster':
      return clusterCommand(rest);
    case 'submit':
      return submitCommand(rest);
    case 'schedule':
    case 'schedules':
      return scheduleCommand(rest);
    case 'status':
      return statusCommand(rest);
    case 'watch':
      return watchCommand(rest);
    case 'ls':
      return lsCommand(rest);
    case 'cancel':
      return cancelCommand(rest);
    case 'attempts':
      return attemptsCommand(rest);
    case 'dlq':
      return dlqCommand(rest);
    case 'queue':
      return queueCommand(rest);
    case 'pause':
    case 'resume':
      return pauseCommand(cmd, rest);
    case 'group':
      return groupCommand(rest);
    case 'decode':
      return decodeCommand(rest);
    case 'completion':
      return completionCommand(rest);
    case 'top':
      return topCommand(rest);
    case 'help': {
      const help = rest[0] === undefined ? USAGE : commandHelp(rest[0]);
      if (help === undefined) {
        process.stderr.write(`unknown command: ${rest[0]}\n\n${USAGE}`);
        return 2;
      }
      process.stdout.write(help);
      return 0;
    }
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command: ${cmd}\n\n${USAGE}`);
      return 2;
  }
}
