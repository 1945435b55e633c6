/**
 * Per-command help: `jetsched <command> --help` (or `jetsched help <command>`) prints what the
 * command does, its options and examples; `jetsched --help` the overview (./run.ts USAGE). Every
 * command `run` dispatches has an entry here (test/cli.test.ts checks each).
 */

const COMMON = `common options: --server URL (NATS_URL)  --creds FILE (NATS_CREDS)
                --prefix P (JETSCHED_PREFIX, default jetsched)  --log-level L (LOG_LEVEL)`;

const ROLE = `role options:   --config FILE (JETSCHED_CONFIG): these flags by their long names in
                YAML or JSON (docs/schemas/role-config.json); flags and environment win
                --drain-timeout-ms N (25000: handlers may finish this long after SIGTERM;
                every role exits by this plus 4 s)  --metrics-port P (/metrics, /healthz,
                /readyz over HTTP; 0 picks a free port)`;

const TASK_FLAGS = `task options:   --payload JSON | --payload-file F   the input (over 512 KiB: claim-checked)
                --split items:N | range:FROM:TO:CHUNK | custom     subtasks
                --aggregate collect | reduce | none                the result
                --group G  --tenant T  --priority 0-9 (9 runs first)
                --timeout-ms N (per subtask)  --per-message K  --deadline 10m
                --attempts N [--backoff fixed:1s|exponential:500ms[:5m]] [--jitter 0.2]
                --max-failures N | --max-failure-ratio R   finish with partial results`;

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  coordinator: `usage: jetsched coordinator [--handlers jobs.js] [--due-spread-ms 1000] [--orphan-check-ms 30000]

Serves the API (submit, get, list, cancel, wait, schedules, dead letters), records outcomes, hands on
delayed tasks when due. Run any number; reducers come from the jobs module.

${ROLE}
${COMMON}

examples:
  jetsched coordinator --server nats://nats:4222 --handlers ./jobs.js --metrics-port 9464
`,
  scheduler: `usage: jetsched scheduler [--handlers jobs.js]

Releases each group's ready queue to its executors by priority, fair share and limits; one
scheduler per group at a time holds its lease, the others take over within seconds. Custom
splitters come from the jobs module.

${ROLE}
${COMMON}

examples:
  jetsched scheduler --server nats://nats:4222 --handlers ./jobs.js
`,
  executor: `usage: jetsched executor --handlers jobs.js [--group G] [--concurrency N]

Runs subtasks of the types its jobs module has handlers for, in group G (default "default"), at
most N at once (default 8).

${ROLE}
${COMMON}

examples:
  jetsched executor --handlers ./jobs.js --group images --concurrency 4
`,
  dev: `usage: jetsched dev [--handlers jobs.js] [--executors N]

Provisions and runs a coordinator, a scheduler and N executors in one process; starts its own
nats-server unless --server or NATS_URL names one. For development: open on loopback.

${ROLE}
${COMMON}

examples:
  jetsched dev --handlers ./jobs.js
  jetsched dev --server nats://127.0.0.1:4222 --executors 2
`,
  provision: `usage: jetsched provision [--replicas N] [--task-retention-ms MS] [--work-ack-wait-ms MS]
                          [--work-max-deliver N] [--outcomes-ack-wait-ms MS] [--rotate-key] ...

Creates or updates every stream, bucket and consumer of the prefix and writes the manifest the roles
check at start. Settings not given keep what was provisioned before. Run once per cluster, and after
an upgrade.

${COMMON}

examples:
  jetsched provision --replicas 3
`,
  executors: `usage: jetsched executors [--group G] [--json]

Lists the live executors: group, id, handler profile, slots busy, host, the types they serve
(--json: their adverts as stored).

${COMMON}
`,
  demo: `usage: jetsched demo [--mb 4] [--chunk 1000]

Counts the words of generated text on a local cluster (its own nats-server), split into chunks.
`,
  cluster: `usage: jetsched cluster [--handlers jobs.js] [--coordinators 2] [--schedulers 2] [--executors 3]
                        [--log-dir DIR]

Runs 3 nats-servers with routes (R3 streams) and every role as its own process, on loopback; prints
the server URLs and role pids as one JSON line, then runs until SIGTERM.
`,
  submit: `usage: jetsched submit <type> [task options] [--key K] [--delay 90s | --at ISO-DATE]
                       [--require-executor] [--wait [--timeout 5m]]

Submits a task and prints {"id": ...}. With --wait it prints the id first, then waits for the end and
prints the state and result (exit 0 when it succeeded); --timeout stops waiting (exit 1), the task
goes on.

${TASK_FLAGS}
${COMMON}

examples:
  jetsched submit resize --payload '{"url":"s3://bucket/a.png"}' --wait
  jetsched submit wordcount --payload-file lines.json --split items:1000 --aggregate reduce
  jetsched submit report --delay 2h --key report-2026-12-07 --priority 7
`,
  schedule: `usage: jetsched schedule create <id> <type> (--cron "0 */5 * * * *" [--tz Europe/Paris] | --every 30s)
                [task options] [--missed once|skip] [--missed-after 60s] [--overlap allow|skip] [--paused]
       jetsched schedule ls [--json] | show|pause|resume|delete|trigger <id>

Cron (6 fields, seconds first, with a time zone) and interval schedules, each occurrence creating one
task from the template; exactly one task per occurrence with many coordinators.

${TASK_FLAGS}
${COMMON}

examples:
  jetsched schedule create nightly report --cron "0 0 3 * * *" --tz Europe/Paris
  jetsched schedule trigger nightly
`,
  status: `usage: jetsched status <id> [--result] [--json]

Shows a task: type, group, state and how long it took, times as dates, subtasks done, why it waits,
its error with the stack, its trace context (and its result with --result). --json prints the record
as stored. Refuses an unknown id.

${COMMON}
`,
  watch: `usage: jetsched watch <id>

Follows a task: each state change with its time, a progress bar over its subtasks, and its
handlers' progress notices; ends at its end (exit 0 when it succeeded). Refuses an unknown id.

${COMMON}
`,
  ls: `usage: jetsched ls [--state S] [--type T] [--tenant T] [-n N] [--json]

Lists tasks, newest first, from the list index.

${COMMON}

examples:
  jetsched ls --state failed -n 20
`,
  cancel: `usage: jetsched cancel <id> [--reason TEXT]

Cancels a task: its running subtasks are aborted, queued ones never start, its retries and deadline
are dropped; it ends cancelled.

${COMMON}
`,
  attempts: `usage: jetsched attempts <id>

The failed attempts of a task's subtasks: error with stack, input, executor, times.

${COMMON}
`,
  dlq: `usage: jetsched dlq ls [--source S] [--type T] [--task ID] [-n N] [--json]
       jetsched dlq show <seq>
       jetsched dlq retry <seq> | --all [--type T] [--task ID]
       jetsched dlq purge <seq> | --all [--source S] [--type T] [--task ID]

Dead letters: subtasks that failed their last attempt, and messages a role gave up on. retry runs a
dead subtask again as a new task.

${COMMON}
`,
  queue: `usage: jetsched queue [--group G] [--json]

What waits and why, per group and type: ready (the releaser's count), delayed, the oldest wait, the
limit or setting holding work back.

${COMMON}
`,
  top: `usage: jetsched top [--group G] [--interval 2s] [--once]

A live view, redrawn every interval until Ctrl-C: the executors of each group with their slots busy
and heartbeat age, and each group's queues (ready, delayed, the oldest wait, what holds work back,
as jetsched queue reports them). --once prints one frame and exits.

${COMMON}

examples:
  jetsched top
  jetsched top --group images --interval 1s
`,
  pause: `usage: jetsched pause <group> [--type T]

Nothing of the group (or of its type T) is released until resumed; running work goes on.

${COMMON}
`,
  resume: `usage: jetsched resume <group> [--type T]

${COMMON}
`,
  decode: `usage: jetsched decode < message

Prints one message read from stdin, msgpack or JSON, as indented JSON (integers beyond 2^53 as
strings, bytes as {"base64": ...}): for what the nats CLI prints raw, and as its --translate filter.

examples:
  nats kv get JETSCHED_tasks <id>.result --raw | jetsched decode
  nats stream view JETSCHED_DLQ --translate 'jetsched decode'
  nats sub 'jetsched.outcomes.>' --translate 'jetsched decode'
`,
  completion: `usage: jetsched completion bash|zsh

Prints a completion script for the commands and their flags.

examples:
  eval "$(jetsched completion bash)"     # in ~/.bashrc
  eval "$(jetsched completion zsh)"      # in ~/.zshrc
`,
  group: `usage: jetsched group <group> [--set JSON] [--json]

Shows a group's settings (pause, weights, retry policies, limits as a table; --json as stored);
--set replaces them (weights, rate and concurrency limits, retries).

${COMMON}

examples:
  jetsched group default --set '{"limits":[{"id":"c","per":"key","concurrency":2}]}'
  jetsched group default --set '{"retry":{"*":{"maxAttempts":3}}}'
`,
};
/** The help of `cmd` (aliases included), or undefined for an unknown command. */
export function commandHelp(cmd: string): string | undefined {
  const name = cmd === 'schedules' ? 'schedule' : cmd;
  return COMMAND_HELP[name];
}
