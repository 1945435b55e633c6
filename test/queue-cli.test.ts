/**
 * `jetsched queue`, `pause`, `resume` and `group`, run as the built CLI binary (packages/cli/dist,
 * `pnpm build` first) against a real server and stack: a paused group holding 20 ready tasks and 5
 * delayed ones, and a group nobody releases for (no executor in it).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN_PATH, type QueueReport } from '@jetsched/cli';
import type { GroupSettings } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

const run = promisify(execFile);

describe('jetsched queue, pause, resume and group (the CLI binary)', () => {
  let stack: Stack;
  const ran: string[] = [];
  beforeAll(async () => {
    stack = await startStack({
      executors: [1, 2].map(() => ({
        group: 'held',
        concurrency: 4,
        handlers: {
          work: (input: unknown) => {
            ran.push(String(input));
            return null;
          },
        },
      })),
    });
  });
  afterAll(() => stack?.close());

  async function cli(...args: string[]): Promise<string> {
    const { stdout } = await run(
      process.execPath,
      [BIN_PATH, ...args, '--server', stack.server.url, '--prefix', stack.prefix],
      { timeout: 20_000 },
    );
    return stdout;
  }

  async function submit(
    group: string,
    n: number,
    extra: { delayMs?: number; type?: string } = {},
  ): Promise<string[]> {
    const replies = await stack.client.submitMany(
      Array.from({ length: n }, (_, i) => ({ type: 'work', group, payload: `${group}-${i}`, ...extra })),
    );
    return replies.map((r) => {
      if (!r.ok) throw new Error(r.error.message);
      return r.id;
    });
  }

  it('shows 20 ready tasks held by the pause and 5 delayed; resume runs them', async () => {
    const paused = JSON.parse(await cli('pause', 'held')) as GroupSettings;
    expect(paused).toMatchObject({ group: 'held', paused: true });
    const ready = await submit('held', 20);
    await submit('held', 5, { delayMs: 120_000 });
    // the releaser counts the queue in its next round
    for (let i = 0; i < 100 && (await stack.client.queueStatus('held'))?.queues[0]?.waiting !== 20; i++)
      await sleep(50);

    const report = JSON.parse(await cli('queue', '--json')) as QueueReport;
    const held = report.groups.find((g) => g.group === 'held');
    expect(held).toMatchObject({ executors: 2, ready: 20, delayed: 5 });
    expect(held?.releaser).not.toBeNull();
    expect(held?.types).toEqual([
      expect.objectContaining({
        type: 'work',
        ready: 20,
        delayed: 5,
        heldBy: ['group "held" is paused'],
      }),
    ]);
    expect(held?.types[0]?.oldestMs).toBeGreaterThan(0);

    // the table says the same, for one group
    const text = await cli('queue', '--group', 'held');
    expect(text).toContain('group held: released by');
    expect(text).toMatch(/work\s+20\s+5\s+\S+\s+group "held" is paused/);

    const resumed = JSON.parse(await cli('resume', 'held')) as GroupSettings;
    expect(resumed.paused).toBeFalsy();
    await Promise.all(ready.map((id) => stack.client.result(id, { timeoutMs: 10_000 })));
    expect(ran.filter((r) => r.startsWith('held-'))).toHaveLength(20);
  });

  it('says plainly when nobody releases for a group, and still counts its delayed tasks', async () => {
    await submit('orphan', 3);
    await submit('orphan', 4, { delayMs: 120_000 });
    // delayed only, of a type nothing else names: found by looking into the delayed stream
    await submit('later', 2, { delayMs: 120_000, type: 'report' });
    const report = JSON.parse(await cli('queue', '--json')) as QueueReport;
    const orphan = report.groups.find((g) => g.group === 'orphan');
    expect(orphan).toMatchObject({ releaser: null, executors: 0, ready: null, delayed: 4 });
    expect(orphan?.note).toContain('no scheduler releases for group "orphan"');
    expect(orphan?.types).toEqual([expect.objectContaining({ type: 'work', ready: null, delayed: 4 })]);
    expect(orphan?.types[0]?.readyMessages).toBeGreaterThanOrEqual(1);
    expect(report.groups.find((g) => g.group === 'later')).toMatchObject({
      releaser: null,
      delayed: 2,
      types: [expect.objectContaining({ type: 'report', delayed: 2 })],
    });
    // the paused group's delayed tasks are still counted beside it
    expect(report.groups.find((g) => g.group === 'held')).toMatchObject({ ready: 0, delayed: 5 });
    const text = await cli('queue', '--group', 'orphan');
    expect(text).toContain('no scheduler releases for group "orphan"');
  });

  it('accounts for delayed tasks of more groups than it looks for, as (other types)', async () => {
    const before = JSON.parse(await cli('queue', '--json')) as QueueReport;
    const sum = (r: QueueReport): number => r.groups.reduce((n, g) => n + g.delayed, 0);
    // 40 groups nothing else names, one delayed task each: more than the looks into the stream find
    for (let i = 0; i < 40; i++) await submit(`many${i}`, 1, { delayMs: 120_000, type: 'later' });
    const report = JSON.parse(await cli('queue', '--json')) as QueueReport;
    expect(sum(report) - sum(before)).toBe(40);
    const other = report.groups.find((g) => g.group === '(other types)');
    expect(other?.note).toContain('did not find');
    expect(await cli('queue')).toContain('(other types)');
  });

  it('group prints and replaces the settings', async () => {
    const limits = [{ id: 'two', per: 'key', concurrency: 2 }];
    const set = JSON.parse(
      await cli('group', 'held', '--json', '--set', JSON.stringify({ limits })),
    ) as GroupSettings;
    expect(set).toMatchObject({ group: 'held', limits });
    expect(JSON.parse(await cli('group', 'held', '--json'))).toMatchObject({ group: 'held', limits });
    // without --json, for a person: the limits as a table
    expect(await cli('group', 'held')).toMatch(/^LIMIT\s+PER\s+RATE\s+CONCURRENCY\ntwo\s+key\s+-\s+2$/m);
    await expect(cli('group', 'held', '--set', '[1]')).rejects.toThrow(/expected a JSON object/);
  });
});
