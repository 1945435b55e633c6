import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { names, schemas } from '@jetsched/protocol';

const root = new URL('../', import.meta.url);

describe('docs stay in sync with the code', () => {
  it('docs/schemas holds exactly the schemas the actors validate with', () => {
    for (const [id, schema] of Object.entries(schemas)) {
      const doc = JSON.parse(readFileSync(new URL(`docs/schemas/${id}.json`, root), 'utf8')) as Record<
        string,
        unknown
      >;
      const { $schema: _ignored, ...rest } = doc;
      expect(rest, `docs/schemas/${id}.json is stale: run node scripts/gen-schemas.mjs`).toEqual(
        JSON.parse(JSON.stringify(schema)),
      );
    }
  });

  it('docs/protocol.md names every subject, stream, consumer and bucket', () => {
    const text = readFileSync(new URL('docs/protocol.md', root), 'utf8');
    const n = names('jetsched');
    const expected = [
      ...Object.values(n.api).filter((s) => !s.endsWith('>')),
      ...Object.values(n.streams),
      ...Object.values(n.buckets),
      n.consumers.coordinatorOutcomes,
      n.consumers.executor('<group>', '<profile>'),
      n.queueGroups.coordinator,
      n.readySubject('<group>', 0, '<fairnessKey>', '<type>').replace('.0.', '.<priority>.'),
      n.workSubject('<group>', '<profile>'),
      n.creditSubject('<group>'),
      n.outcomeSubject('<group>'),
      n.stopSubject('<taskId>'),
      n.stoppedSubject('<taskId>'),
      n.indexSubject('<state>', '<tenant>', '<type>'),
      n.eventSubject('<taskId>'),
      n.progressSubject('<taskId>'),
      n.startedSubject('<group>'),
      n.dlqSubject('<source>'),
    ];
    for (const name of expected) expect(text, `docs/protocol.md does not mention ${name}`).toContain(name);
  });
});
