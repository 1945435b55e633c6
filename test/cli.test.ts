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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN_PATH, spawnRole } from '@jetsched/cli';
import { names, validate } from '@jetsched/protocol';
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

/** Every command `jetsched` dispatches, as the overview lists them. */
const COMMANDS = [
  'coordinator',
  'scheduler',
  'executor',
  'dev',
  'provision',
  'executors',
  'demo',
  'cluster',
  'submit',
  'schedule',
  'status',
  'watch',
  'ls',
  'cancel',
  'attempts',
  'dlq',
  'queue',
  'pause',
  'resume',
  'group',
  'decode',
  'completion',
  'top',
];

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

  it('prints each command its own help, with the options it takes', async () => {
    const overview = await jetsched(['--help']);
    expect(overview.code).toBe(0);
    for (const cmd of COMMANDS) {
      expect(overview.stdout, `the overview names ${cmd}`).toMatch(new RegExp(`\\b${cmd}\\b`));
      const help = await jetsched([cmd, '--help']);
      expect(help.code, cmd).toBe(0);
      expect(help.stdout.startsWith(`usage: jetsched ${cmd}`), `${cmd}: ${help.stdout.slice(0, 80)}`).toBe(
        true,
      );
      expect(help.stdout).not.toBe(overview.stdout);
      expect((await jetsched(['help', cmd])).stdout).toBe(help.stdout);
    }
    expect((await jetsched(['submit', '--help'])).stdout).toMatch(/--wait \[--timeout 5m\][\s\S]*examples:/);
    expect(await jetsched(['help', 'nope'])).toMatchObject({ code: 2 });
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

  it('--json output of the read commands validates against the protocol schemas', async () => {
    const { id } = await stack.client.submit({ type: 'echo', payload: 2 });
    await stack.client.wait(id, { timeoutMs: 20_000 });
    const status = JSON.parse((await jetsched(['status', id, '--json', ...at()])).stdout) as {
      task: unknown;
    };
    expect(() => validate('task-record', status.task)).not.toThrow();
    const adverts = JSON.parse((await jetsched(['executors', '--json', ...at()])).stdout) as unknown[];
    expect(adverts.length).toBe(2);
    for (const a of adverts) expect(() => validate('executor-advert', a)).not.toThrow();
    const group = JSON.parse((await jetsched(['group', 'default', '--json', ...at()])).stdout) as unknown;
    expect(() => validate('group-settings', group)).not.toThrow();
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
