/**
 * The CLI as a person meets it (issue 9), run as the built binary (`pnpm build` first): a version,
 * help per command with examples, `submit --wait` that prints the id before it waits and honours a
 * timeout, `watch` that refuses an unknown id at once and shows what handlers report as progress.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BIN_PATH, createProgram, run, spawnRole } from '@jetsched/cli';
import { names, validate, WIRE_VERSION, type SchemaId } from '@jetsched/protocol';
import { natsCliBin } from '@jetsched/testkit';
import { startStack, type Stack } from './helpers/stack.js';

const execFileP = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function jetsched(args: string[], timeout = 20_000): Promise<Ran> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN_PATH, ...args], { timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Every command of the tree, as the words that name it (`['dlq', 'ls']`). */
function commandPaths(cmd: ReturnType<typeof createProgram>, above: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...above, c.name()], ...commandPaths(c, [...above, c.name()])]);
}

/** Runs the CLI in this process, as the binary does, and collects what it writes. */
async function inProcess(args: string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    return { code: await run(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('the jetsched CLI without a cluster', () => {
  it('prints its version', async () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../packages/cli/package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    for (const flag of ['--version', '-V', 'version']) {
      expect(await jetsched([flag])).toMatchObject({ code: 0, stdout: `jetsched ${pkg.version}\n` });
    }
  });

  it('is installed as a command: pnpm exec jetsched', async () => {
    const root = new URL('..', import.meta.url).pathname;
    const { stdout } = await execFileP('pnpm', ['exec', 'jetsched', '--version'], {
      cwd: root,
      timeout: 20_000,
    });
    expect(stdout).toMatch(/^jetsched \d+\.\d+\.\d+/);
  });

  it("completes commands and each command's flags in bash", async () => {
    const script = (await jetsched(['completion', 'bash'])).stdout;
    const complete = async (words: string[]): Promise<string[]> => {
      const { stdout } = await execFileP('bash', [
        '-c',
        `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _jetsched; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ]);
      return stdout.split('\n').filter(Boolean);
    };
    expect(await complete(['jetsched', 'su'])).toEqual(['submit']);
    expect(await complete(['jetsched', 'submit', '--wa'])).toEqual(['--wait']);
    expect(await complete(['jetsched', 'executor', '--met'])).toEqual(['--metrics-port']);
    expect((await jetsched(['completion', 'zsh'])).stdout).toMatch(/^autoload -U \+X bashcompinit/);
  });

  it('prints each command of the tree its own help, with its usage and an example', async () => {
    const overview = await inProcess(['--help']);
    expect(overview.code).toBe(0);
    const paths = commandPaths(createProgram()).filter((p) => p.join(' ') !== 'version');
    expect(paths.length).toBeGreaterThan(30);
    for (const path of paths) {
      const name = path.join(' ');
      if (path.length === 1)
        expect(overview.stdout, `the overview names ${name}`).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
      const help = await inProcess([...path, '--help']);
      expect(help.code, name).toBe(0);
      expect(help.stdout.startsWith(`Usage: jetsched ${name}`), `${name}: ${help.stdout.slice(0, 80)}`).toBe(
        true,
      );
      const examples = help.stdout.slice(help.stdout.indexOf('\nExamples:\n'));
      expect(examples, `${name} has examples`).toMatch(
        new RegExp(`^Examples:\\n(  .*\\n?)*  .*jetsched ${name}\\b`, 'm'),
      );
      expect((await inProcess(['help', ...path])).stdout, `jetsched help ${name}`).toBe(help.stdout);
    }
    // the binary prints the same
    const submit = await jetsched(['submit', '--help']);
    expect(submit.code).toBe(0);
    expect(submit.stdout).toMatch(/^Usage: jetsched submit \[options\] <type>[\s\S]*--wait[\s\S]*Examples:/);
    expect(await jetsched(['help', 'nope'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown command 'nope'/) as unknown,
    });
    expect(await jetsched([])).toMatchObject({ code: 2 });
  });

  it("fills a role's flags from its config file: the command line and environment win", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetsched-config-'));
    const file = join(dir, 'roles.yaml');
    writeFileSync(
      file,
      [
        'server: nats://from-file:4222',
        'prefix: fromfile',
        'group: images',
        'concurrency: 3',
        'due-spread-ms: 500',
      ].join('\n'),
    );
    /** The executor's flags after parsing `args`, its action replaced by a look at them. */
    const executorFlags = async (args: string[]): Promise<Record<string, unknown>> => {
      const program = createProgram();
      let seen: Record<string, unknown> = {};
      program.commands
        .find((c) => c.name() === 'executor')
        ?.action(function (this: ReturnType<typeof createProgram>) {
          seen = this.optsWithGlobals();
        });
      await program.parseAsync(['executor', ...args], { from: 'user' });
      return seen;
    };
    try {
      vi.stubEnv('JETSCHED_PREFIX', undefined);
      vi.stubEnv('NATS_URL', 'nats://from-env:4222');
      const flagged = await executorFlags(['--config', file, '-c', '5']);
      expect(flagged).toMatchObject({
        server: 'nats://from-env:4222',
        prefix: 'fromfile',
        group: 'images',
        concurrency: 5,
      });
      // a coordinator's setting: an executor takes it, and ignores it
      expect(flagged).toMatchObject({ dueSpreadMs: 500 });
      vi.stubEnv('NATS_URL', undefined);
      vi.stubEnv('JETSCHED_CONFIG', file);
      expect(await executorFlags(['--group', 'mine'])).toMatchObject({
        server: 'nats://from-file:4222',
        group: 'mine',
        concurrency: 3,
      });
    } finally {
      vi.unstubAllEnvs();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown flag or a bad value with a clear message and a non-zero exit', async () => {
    const unknown = await jetsched(['status', 'AAAAAAAAAAAAAAAAAAAAA', '--jsn']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^error: unknown option '--jsn'\n\(Did you mean --json\?\)\n\(jetsched status --help shows its usage\)/,
    );
    const bad = await inProcess(['executor', '--concurrency', 'many']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /--concurrency <n>' argument 'many' is invalid\. expected a non-negative integer/,
    );
    expect((await inProcess(['ls', '--state', 'done'])).stderr).toMatch(
      /Allowed choices are delayed, pending/,
    );
    expect((await inProcess(['submit'])).stderr).toMatch(/missing required argument 'type'/);
  });
});

describe('the jetsched CLI against a cluster', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 2,
          handlers: {
            echo: (input: unknown) => input,
            boom: () => {
              throw new Error('boom');
            },
            steps: async (input: unknown, ctx) => {
              for (let i = 1; i <= 3; i++) {
                ctx.progress({ step: i, of: 3 });
                await sleep(150);
              }
              return input;
            },
          },
        },
        { group: 'held', concurrency: 1, handlers: { echo: (input: unknown) => input } },
      ],
    });
  });
  afterAll(() => stack?.close());
  const at = (): string[] => ['--server', stack.server.url, '--prefix', stack.prefix];

  it('submit --wait prints the id first, then the end', async () => {
    const r = await jetsched(['submit', 'echo', '--payload', '{"n":7}', '--wait', ...at()]);
    expect(r.code).toBe(0);
    const [first, ...rest] = r.stdout.split('\n');
    const { id } = JSON.parse(first ?? '') as { id: string };
    expect(id).toMatch(/^[A-Za-z0-9]{21}$/);
    expect(JSON.parse(rest.join('\n'))).toMatchObject({ id, state: 'succeeded', result: [{ n: 7 }] });
  });

  it('status shows a task as a person reads it, and as stored with --json', async () => {
    const { id } = await stack.client.submit({ type: 'boom', payload: 1 });
    await stack.client.wait(id, { timeoutMs: 20_000 });
    const human = await jetsched(['status', id, ...at()]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^task\\s+${id}  boom`, 'm'));
    expect(human.stdout).toMatch(/^state\s+failed after \d/m);
    expect(human.stdout).toMatch(/^created\s+\d{4}-\d\d-\d\dT/m);
    expect(human.stdout).toMatch(/^error\s+\w+: boom$/m);
    expect(human.stdout).toMatch(/^Error: boom$/m);
    const json = await jetsched(['status', id, '--json', ...at()]);
    expect(JSON.parse(json.stdout)).toMatchObject({ task: { id, state: 'failed' } });
    expect((await jetsched(['status', 'AAAAAAAAAAAAAAAAAAAAA', ...at()])).code).not.toBe(0);
  });

  /** A task of `boom` that failed both its attempts, once its dead letter is stored. */
  async function failedTwice(payload: unknown): Promise<{ id: string; seq: number }> {
    const { id } = await stack.client.submit({ type: 'boom', payload, retry: { maxAttempts: 2 } });
    await stack.client.wait(id, { timeoutMs: 20_000 });
    // the dead letter is published after the record write
    for (let i = 0; i < 50; i++) {
      const seq = (await stack.client.deadLetters({ taskId: id })).items[0]?.seq;
      if (seq !== undefined) return { id, seq };
      await sleep(100);
    }
    throw new Error(`no dead letter of task ${id}`);
  }

  it('--json output of the read commands validates against the protocol schemas', async () => {
    const { id } = await stack.client.submit({ type: 'echo', payload: 2 });
    await stack.client.wait(id, { timeoutMs: 20_000 });
    const failed = await failedTwice(3);
    await stack.client.createSchedule({ id: 'json-check', every: '1h', task: { type: 'echo' } });
    const json = async (...args: string[]): Promise<unknown> => {
      const r = await jetsched([...args, '--json', ...at()]);
      expect(r.code, `jetsched ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as unknown;
    };
    const valid = (kind: SchemaId, value: unknown): void =>
      expect(() => validate(kind, value), `${kind}: ${JSON.stringify(value)}`).not.toThrow();
    // a dead letter as the API lists it: as stored, without its message's bytes
    const stored = (entry: object): object => ({
      ...entry,
      v: WIRE_VERSION,
      kind: 'dead-letter',
      data: null,
    });
    try {
      valid('task-record', ((await json('status', id)) as { task: unknown }).task);
      const page = (await json('ls', '-n', '5')) as { tasks: unknown[] };
      expect(page.tasks.length).toBeGreaterThan(0);
      for (const t of page.tasks) valid('task-record', t);
      const attempts = (await json('attempts', failed.id)) as unknown[];
      expect(attempts).toHaveLength(2);
      for (const a of attempts) valid('subtask-record', a);
      const dead = (await json('dlq', 'ls', '--task', failed.id)) as { items: object[] };
      expect(dead.items).toHaveLength(1);
      valid('dead-letter', stored(dead.items[0] ?? {}));
      valid('dead-letter', stored((await json('dlq', 'show', String(failed.seq))) as object));
      const schedules = (await json('schedule', 'ls')) as { schedule: { id: string } }[];
      valid('schedule-record', schedules.find((s) => s.schedule.id === 'json-check')?.schedule);
      valid(
        'schedule-record',
        ((await json('schedule', 'show', 'json-check')) as { schedule: unknown }).schedule,
      );
      const adverts = (await json('executors')) as unknown[];
      expect(adverts.length).toBe(2);
      for (const a of adverts) valid('executor-advert', a);
      valid('group-settings', await json('group', 'default'));
    } finally {
      await stack.client.deleteSchedule('json-check');
    }
  });

  it('attempts, dlq show, schedule show and ls show a view for people: times as dates, durations', async () => {
    const failed = await failedTwice({ n: 4 });
    const attempts = await jetsched(['attempts', failed.id, ...at()]);
    expect(attempts.code).toBe(0);
    expect(attempts.stdout).toMatch(new RegExp(`^task ${failed.id}: 2 failed attempts\\n\\nsubtask 0$`, 'm'));
    expect(attempts.stdout).toMatch(/^ {2}attempt 1 {2}\d{4}-\d\d-\d\dT\S+Z {2}took \d\S* {2}executor \S+/m);
    expect(attempts.stdout).toMatch(/^ {2}attempt 2 {2}\d{4}-/m);
    expect(attempts.stdout).toMatch(/^ {4}\w+: boom$/m);
    expect(attempts.stdout).toMatch(/^ {6}at /m);
    expect(attempts.stdout).toMatch(/^ {4}input \{"n":4\}$/m);

    const letter = await jetsched(['dlq', 'show', String(failed.seq), ...at()]);
    expect(letter.code).toBe(0);
    expect(letter.stdout).toMatch(new RegExp(`^dead letter\\s+${failed.seq}  subtask$`, 'm'));
    expect(letter.stdout).toMatch(/^at\s+\d{4}-\d\d-\d\dT/m);
    expect(letter.stdout).toMatch(
      new RegExp(`^task\\s+${failed.id}  subtask 0  attempt 2  boom in group default$`, 'm'),
    );
    expect(letter.stdout).toMatch(/^reason\s+\w+: boom$/m);
    expect(letter.stdout).toMatch(/^message:$/m);

    await stack.client.createSchedule({ id: 'for-people', every: '1h', task: { type: 'echo' } });
    try {
      const shown = await jetsched(['schedule', 'show', 'for-people', ...at()]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/^schedule\s+for-people$/m);
      expect(shown.stdout).toMatch(/^when\s+every 1h$/m);
      expect(shown.stdout).toMatch(/^next run\s+\d{4}-\d\d-\d\dT\S+Z \(in [\d.]+m\)$/m);
      expect(shown.stdout).toMatch(/^created\s+\d{4}-/m);
    } finally {
      await stack.client.deleteSchedule('for-people');
    }

    const listed = await jetsched(['ls', '--type', 'boom', ...at()]);
    expect(listed.stdout).toMatch(/^ID\s+TYPE\s+STATE\s+TENANT\s+SUBTASKS\s+CREATED\s+TOOK$/m);
    expect(listed.stdout).toMatch(
      new RegExp(`^${failed.id}\\s+boom\\s+failed\\s+\\S+\\s+1/1\\s+\\d{4}-\\S+Z\\s+\\d\\S*$`, 'm'),
    );
  });

  it('submit --wait --timeout gives up waiting, says so, and leaves the task to run', async () => {
    await stack.client.pause('held');
    try {
      const t0 = Date.now();
      const r = await jetsched(['submit', 'echo', '--group', 'held', '--wait', '--timeout', '1s', ...at()]);
      expect(r.code).toBe(1);
      expect(Date.now() - t0).toBeLessThan(8_000);
      const { id } = JSON.parse(r.stdout.split('\n')[0] ?? '') as { id: string };
      expect(r.stderr).toContain(`task ${id} did not end within 1s; it goes on`);
      expect((await stack.client.get(id)).task.state).toBe('pending');
      await stack.client.resume('held');
      expect((await stack.client.wait(id, { timeoutMs: 20_000 })).task.state).toBe('succeeded');
    } finally {
      await stack.client.resume('held');
    }
  });

  it('decode shows as JSON what the nats CLI reads raw: a result, a dead letter through --translate', async () => {
    const n = names(stack.prefix);
    const nats = `${natsCliBin()} --server ${stack.server.url}`;
    const decode = `${process.execPath} ${BIN_PATH} decode`;
    const { id } = await stack.client.submit({ type: 'echo', payload: { big: 2n ** 60n, text: 'é' } });
    await stack.client.result(id, { timeoutMs: 20_000 });
    const result = await execFileP('bash', [
      '-c',
      `${nats} kv get ${n.buckets.tasks} ${n.resultKey(id)} --raw | ${decode}`,
    ]);
    expect(JSON.parse(result.stdout)).toMatchObject({ value: [{ big: String(2n ** 60n), text: 'é' }] });

    const failed = await stack.client.submit({ type: 'boom', payload: 1 });
    await stack.client.wait(failed.id, { timeoutMs: 20_000 });
    const { items } = await stack.client.deadLetters({ taskId: failed.id });
    const seq = items[0]?.seq;
    expect(seq).toBeDefined();
    const letter = await execFileP('bash', [
      '-c',
      `${nats} stream get ${n.streams.dlq} ${seq} --translate '${decode}'`,
    ]);
    expect(letter.stdout).toMatch(/"source": "subtask"/);
    expect(letter.stdout).toMatch(/"message": "boom"/);
  });

  it("takes a role's flags from a YAML config file, the command line winning", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetsched-config-'));
    try {
      const file = join(dir, 'executor.yaml');
      writeFileSync(
        file,
        [
          `server: ${stack.server.url}`,
          `prefix: ${stack.prefix}`,
          `handlers: ${new URL('./fixtures/typed-jobs.ts', import.meta.url).pathname}`,
          'group: configured',
          'concurrency: 3',
          'drain-timeout-ms: 2000',
        ].join('\n'),
      );
      const fromFile = spawnRole('executor', ['--config', file], {});
      const overridden = spawnRole('executor', ['--config', file, '--concurrency', '2'], {});
      try {
        await Promise.all([fromFile.ready, overridden.ready]);
        const listed = await jetsched(['executors', '--group', 'configured', '--json', ...at()]);
        const adverts = JSON.parse(listed.stdout) as { concurrency: number }[];
        expect(adverts.map((a) => a.concurrency).sort()).toEqual([2, 3]);
      } finally {
        await Promise.all([fromFile.stop('SIGTERM'), overridden.stop('SIGTERM')]);
      }
      writeFileSync(file, 'group: configured\nconcurency: 3\n');
      const bad = await jetsched(['executor', '--config', file]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/config file .*executor\.yaml: .*concurency/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs an executor whose jobs module is TypeScript', async () => {
    const typed = spawnRole(
      'executor',
      [
        '--handlers',
        new URL('./fixtures/typed-jobs.ts', import.meta.url).pathname,
        '--group',
        'typed',
        ...at(),
      ],
      {},
    );
    try {
      await typed.ready;
      const { id } = await stack.client.submit({
        type: 'double',
        group: 'typed',
        payload: { values: [1, 2, 3] },
      });
      expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual([[2, 4, 6]]);
    } finally {
      await typed.stop('SIGTERM');
    }
  });

  it('top shows the executors, their slots and what waits in each group, and why', async () => {
    await stack.client.pause('held');
    try {
      const { id } = await stack.client.submit({ type: 'echo', group: 'held', payload: 1 });
      let frame = '';
      for (let i = 0; i < 20 && !/echo\s+1\s/.test(frame); i++) {
        frame = (await jetsched(['top', '--once', ...at()])).stdout;
        await sleep(200);
      }
      expect(frame).toMatch(/^jetsched top /);
      expect(frame).toMatch(/executors 2 {2}slots \d+\/3 busy/);
      expect(frame).toMatch(/GROUP\s+EXECUTOR\s+BUSY\s+HOST\s+HEARTBEAT\s+TYPES/);
      expect(frame).toMatch(/group held: .*paused/);
      expect(frame).toMatch(/echo\s+1\s+0\s+\S+\s+group "held" is paused/);
      await stack.client.resume('held');
      await stack.client.wait(id, { timeoutMs: 20_000 });
    } finally {
      await stack.client.resume('held');
    }
  });

  it('watch refuses an unknown id at once, and shows handler progress', async () => {
    const t0 = Date.now();
    const unknown = await jetsched(['watch', 'AAAAAAAAAAAAAAAAAAAAA', ...at()]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no task AAAAAAAAAAAAAAAAAAAAA/);
    expect(Date.now() - t0).toBeLessThan(8_000);
    // held back until the watch has shown the task: progress notices are not stored
    await stack.client.pause('default');
    try {
      const { id } = await stack.client.submit({ type: 'steps', payload: 'done' });
      const proc = spawn(process.execPath, [BIN_PATH, 'watch', id, ...at()]);
      let stdout = '';
      proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = once(proc, 'exit');
      for (let i = 0; i < 100 && !stdout.includes(' pending'); i++) await sleep(100);
      expect(stdout).toContain(' pending');
      await stack.client.resume('default');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
      expect(stdout).toMatch(/progress subtask 0: \{"step":1,"of":3\}/);
      expect(stdout).toMatch(/progress subtask 0: \{"step":3,"of":3\}/);
      expect(stdout.trim().split('\n').at(-1)).toMatch(/ succeeded$/);
    } finally {
      await stack.client.resume('default');
    }
  });
});
