/** The global flags every command takes, their environment fallbacks, and argument parsers. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_PREFIX } from '@jetsched/protocol';
import type { ConnectOptions } from '@jetsched/runtime';

/** The global flags as commander stores them (camelCase). */
export interface GlobalFlags {
  server?: string;
  creds?: string;
  nkey?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  prefix: string;
  logLevel?: string;
}

/** Adds the global flags to `program`: every subcommand takes them, before or after its own. */
export function addGlobalOptions(program: Command): Command {
  return program
    .addOption(
      new Option(
        '-s, --server <urls>',
        'NATS server URLs, comma separated (none: nats://127.0.0.1:4222)',
      ).env('NATS_URL'),
    )
    .addOption(new Option('--creds <file>', 'NATS credentials file').env('NATS_CREDS'))
    .addOption(new Option('--nkey <file>', "a file with the user's nkey seed").env('NATS_NKEY'))
    .addOption(new Option('--tls-ca <file>', "the CA of the server's certificate (TLS)").env('NATS_CA'))
    .addOption(new Option('--tls-cert <file>', "this client's certificate (TLS)").env('NATS_CERT'))
    .addOption(new Option('--tls-key <file>', "this client's key (TLS)").env('NATS_KEY'))
    .addOption(
      new Option('--prefix <prefix>', 'namespace of every subject, stream and bucket')
        .env('JETSCHED_PREFIX')
        .default(DEFAULT_PREFIX),
    )
    .addOption(
      new Option('--log-level <level>', 'log level (none: info); logs are JSON lines on stderr')
        .env('LOG_LEVEL')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    );
}

export interface Common {
  connection: ConnectOptions;
  prefix: string;
  logLevel: string | undefined;
}

/** The connection, prefix and log level the global flags give. */
export function common(flags: GlobalFlags): Common {
  const connection: ConnectOptions = {};
  if (flags.server) connection.servers = flags.server.split(',');
  if (flags.creds) connection.credsFile = flags.creds;
  if (flags.nkey) connection.nkeyFile = flags.nkey;
  const tls = {
    ...(flags.tlsCa ? { caFile: flags.tlsCa } : {}),
    ...(flags.tlsCert ? { certFile: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { keyFile: flags.tlsKey } : {}),
  };
  if (Object.keys(tls).length > 0) connection.tls = tls;
  return { connection, prefix: flags.prefix, logLevel: flags.logLevel };
}

/** An option argument that must be a whole number of at least 0 (commander's `argParser`). */
export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}
