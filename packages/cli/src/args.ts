/** Shared flags and their environment fallbacks. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_PREFIX } from '@jetsched/protocol';
import type { ConnectOptions } from '@jetsched/runtime';

export const commonOptions = {
  server: { type: 'string', short: 's' },
  creds: { type: 'string' },
  prefix: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export interface Common {
  connection: ConnectOptions;
  prefix: string;
  logLevel: string | undefined;
}

export function common(values: Record<string, unknown>): Common {
  const server = (values['server'] as string | undefined) ?? process.env['NATS_URL'];
  const creds = (values['creds'] as string | undefined) ?? process.env['NATS_CREDS'];
  const connection: ConnectOptions = {};
  if (server) connection.servers = server.split(',');
  if (creds) connection.credsFile = creds;
  return {
    connection,
    prefix: (values['prefix'] as string | undefined) ?? process.env['JETSCHED_PREFIX'] ?? DEFAULT_PREFIX,
    logLevel: values['log-level'] as string | undefined,
  };
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` with the common flags plus `options`; unknown flags are an error. */
export function parse<O extends Options>(
  argv: string[],
  options: O,
): {
  values: {
    [K in keyof (O & typeof commonOptions)]?: (O & typeof commonOptions)[K] extends { type: 'boolean' }
      ? boolean
      : string;
  };
  positionals: string[];
} {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...commonOptions, ...options },
    allowPositionals: true,
    strict: true,
  });
  return { values, positionals };
}

export function int(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
  return n;
}
