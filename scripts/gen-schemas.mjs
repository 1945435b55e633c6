// Writes docs/schemas/<id>.json from the schemas in @jetsched/protocol (the single source of truth).
// Run after `pnpm build`: node scripts/gen-schemas.mjs. test/docs.test.ts fails when they drift.
import { mkdirSync, writeFileSync } from 'node:fs';
import { schemas } from '../packages/protocol/dist/index.js';

const dir = new URL('../docs/schemas/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const [id, schema] of Object.entries(schemas)) {
  const doc = { $schema: 'http://json-schema.org/draft-07/schema#', ...schema };
  writeFileSync(new URL(`${id}.json`, dir), JSON.stringify(doc, null, 2) + '\n');
}
process.stdout.write(`wrote ${Object.keys(schemas).length} schemas to docs/schemas/\n`);
