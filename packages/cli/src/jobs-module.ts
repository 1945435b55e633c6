/**
 * A jobs module is a plain ES module that user code ships: named exports (or a default export
 * object) `handlers`, `reducers` and `splitters`, each keyed by task type. Each role takes the part
 * it needs: executors the handlers, coordinators the reducers, schedulers the splitters. A module in
 * TypeScript (`.ts`, `.mts`, `.cts`) is loaded through tsx, with no build step.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import type { Reducer } from '@jetsched/coordinator';
import type { Handler } from '@jetsched/executor';
import type { Splitter } from '@jetsched/scheduler';

export interface JobsModule {
  handlers: Record<string, Handler>;
  reducers: Record<string, Reducer>;
  splitters: Record<string, Splitter>;
}

function functions<T>(value: unknown, what: string, file: string): Record<string, T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null)
    throw new Error(`${file}: "${what}" must be an object of functions`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'function') throw new Error(`${file}: ${what}.${k} is not a function`);
  }
  return value as Record<string, T>;
}

export async function loadJobsModule(file: string): Promise<JobsModule> {
  const url = pathToFileURL(resolve(file)).href;
  const mod = (/\.[mc]?ts$/.test(file) ? await tsImport(url, import.meta.url) : await import(url)) as Record<
    string,
    unknown
  >;
  const src = (
    typeof mod['default'] === 'object' && mod['default'] !== null ? mod['default'] : mod
  ) as Record<string, unknown>;
  return {
    handlers: functions<Handler>(src['handlers'], 'handlers', file),
    reducers: functions<Reducer>(src['reducers'], 'reducers', file),
    splitters: functions<Splitter>(src['splitters'], 'splitters', file),
  };
}
