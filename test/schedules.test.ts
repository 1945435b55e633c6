/**
 * Cron and interval schedules through the API and the SDK: each occurrence creates one task from
 * the template; pause, resume, trigger and delete; definitions the server would refuse are refused
 * up front; and the missed-occurrence policies when no coordinator was there to take them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '@jetsched/coordinator';
import type { TaskRecord } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

describe('schedules', () => {
  let stack: Stack;
  /** Tasks the handler ran, by schedule id. */
  const ran = new Map<string, { taskId: string; at: number }[]>();
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 8,
          handlers: {
            tick: (input: unknown, ctx) => {
              const id = (input as { schedule: string }).schedule;
              ran.set(id, [...(ran.get(id) ?? []), { taskId: ctx.taskId, at: Date.now() }]);
              return null;
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  const task = (schedule: string): { type: string; payload: { schedule: string } } => ({
    type: 'tick',
    payload: { schedule },
  });

  async function records(id: string): Promise<TaskRecord[]> {
    return Promise.all((ran.get(id) ?? []).map(async (r) => (await stack.client.get(r.taskId)).task));
  }

  it('creates one task per occurrence of an interval, pauses, resumes, triggers and deletes', async () => {
    const created = await stack.client.createSchedule({ id: 'every', every: '1s', task: task('every') });
    expect(created.schedule).toMatchObject({ id: 'every', every: '1s', paused: false, runs: 0 });
    expect(created.nextRunAt).toBeGreaterThan(Date.now());
    await sleep(4_300);
    const first = await records('every');
    expect(first.length).toBeGreaterThanOrEqual(3);
    expect(first.length).toBeLessThanOrEqual(5);
    const occurrences = first.map((t) => t.schedule?.occurrence ?? 0).sort((a, b) => a - b);
    expect(new Set(occurrences).size).toBe(occurrences.length);
    for (let i = 1; i < occurrences.length; i++) {
      expect(occurrences[i]! - occurrences[i - 1]!).toBeGreaterThanOrEqual(900);
    }
    expect(first.every((t) => t.schedule?.id === 'every')).toBe(true);

    const paused = await stack.client.pauseSchedule('every');
    expect(paused.schedule.paused).toBe(true);
    expect(paused.nextRunAt).toBeUndefined();
    await sleep(300); // a notice fired as the pause went in is still taken
    const atPause = ran.get('every')?.length ?? 0;
    await sleep(2_500);
    expect(ran.get('every')?.length).toBe(atPause);

    const { taskId } = await stack.client.triggerSchedule('every');
    expect(await stack.client.result(taskId, { timeoutMs: 5_000 })).toEqual([null]);
    expect((await stack.client.get(taskId)).task.schedule).toEqual({ id: 'every' });

    await stack.client.resumeSchedule('every');
    await sleep(2_500);
    expect(ran.get('every')?.length).toBeGreaterThanOrEqual(atPause + 2);
    const listed = await stack.client.schedules();
    expect(listed.map((s) => s.schedule.id)).toContain('every');
    const shown = await stack.client.schedule('every');
    expect(shown.schedule.runs).toBe(ran.get('every')?.length);

    await stack.client.deleteSchedule('every');
    await sleep(300);
    const atDelete = ran.get('every')?.length ?? 0;
    await expect(stack.client.schedule('every')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await sleep(2_000);
    expect(ran.get('every')?.length).toBe(atDelete);
  });

  it('runs a cron schedule on the seconds it names, in its time zone', async () => {
    const created = await stack.client.createSchedule({
      id: 'cron',
      cron: '*/2 * * * * *',
      timezone: 'Asia/Kolkata',
      task: task('cron'),
    });
    expect((created.nextRunAt ?? 1) % 2_000).toBe(0);
    await sleep(5_000);
    await stack.client.deleteSchedule('cron');
    const recs = await records('cron');
    expect(recs.length).toBeGreaterThanOrEqual(2);
    for (const t of recs) expect((t.schedule?.occurrence ?? 1) % 2_000).toBe(0);
  });

  it('replaces the definition of a schedule created again with the same id', async () => {
    await stack.client.createSchedule({ id: 'again', every: '1h', task: task('again') });
    const { taskId } = await stack.client.triggerSchedule('again');
    await stack.client.result(taskId, { timeoutMs: 5_000 });
    const replaced = await stack.client.createSchedule({ id: 'again', every: '2h', task: task('again') });
    expect(replaced.schedule).toMatchObject({ every: '2h', runs: 1, lastRun: { taskId } });
    await stack.client.deleteSchedule('again');
  });

  it('refuses definitions the server would refuse, saying why', async () => {
    for (const [bad, msg] of [
      [{ cron: '* * * * *' }, 'expected 6 fields'],
      [{ cron: '0 0 25 * * *' }, 'hour "25"'],
      [{ cron: '0 0 9 * * *', timezone: 'Mars/Olympus' }, 'time zone "Mars/Olympus" is unknown'],
      [{ every: '500ms' }, 'at least 1s'],
      [{ every: '1s', cron: '* * * * * *' }, 'exactly one of cron'],
      [{ every: '1s', timezone: 'UTC' }, 'a time zone goes with cron only'],
      [{}, 'exactly one of cron'],
    ] as const) {
      await expect(
        stack.client.createSchedule({ id: 'bad', ...bad, task: task('bad') }),
        JSON.stringify(bad),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining(msg) as unknown });
    }
    await expect(stack.client.schedule('bad')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  for (const policy of ['once', 'skip'] as const) {
    it(`occurrences missed while no coordinator ran: ${policy === 'once' ? 'the latest runs, once' : 'none run'}`, async () => {
      const id = `missed-${policy}`;
      // the stack's coordinator goes away; a second one created here is the only one left
      const spare = createCoordinator({ nc: await stack.connect(), prefix: stack.prefix });
      await spare.start();
      await stack.coordinators[0]?.close();
      await stack.client.createSchedule({
        id,
        every: '1s',
        task: task(id),
        missed: policy,
        missedAfterMs: 1_000,
      });
      await sleep(1_500);
      await spare.close();
      // four or five occurrences fire while nobody takes them
      const down = Date.now();
      // the interval's occurrences fall on whole seconds: coming back half-way between two of them
      // leaves no doubt about which were missed
      await sleep(4_000 + ((1_500 - (Date.now() % 1_000)) % 1_000));
      const back = createCoordinator({ nc: await stack.connect(), prefix: stack.prefix });
      const backAt = Date.now();
      await back.start();
      stack.coordinators[0] = back;
      await sleep(1_200);
      await stack.client.deleteSchedule(id);
      const recs = await records(id);
      // `once`: of the occurrences due while nobody took them, one ran; `skip`: none that was more
      // than missedAfterMs late when taken (the last one may have been on time)
      const until = policy === 'once' ? backAt : backAt - 1_000;
      const duringOutage = recs.filter((t) => {
        const o = t.schedule?.occurrence ?? 0;
        return o > down && o < until;
      });
      expect(duringOutage, JSON.stringify({ down, backAt, s: recs.map((t) => t.schedule) })).toHaveLength(
        policy === 'once' ? 1 : 0,
      );
      const shown = (await stack.client.schedules()).find((s) => s.schedule.id === id);
      expect(shown).toBeUndefined();
    });
  }
});
