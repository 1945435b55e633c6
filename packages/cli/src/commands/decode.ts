/**
 * `jetsched decode`: what a person reads from the `nats` CLI, as JSON. Reads one message from stdin
 * (msgpack or JSON, as `nats kv get --raw` and `nats stream get --raw` print it) and prints it as
 * indented JSON: integers beyond 2^53 as strings, bytes as `{ "base64": ... }`.
 */
import { decode, ContentType } from '@jetsched/protocol';
import type { Command } from 'commander';
import { action, examples } from '../command.js';

/** Adds `decode` to `program`. */
export function addDecodeCommand(program: Command): void {
  const cmd = program
    .command('decode')
    .summary('a msgpack or JSON message on stdin as indented JSON')
    .description(
      'Prints one message read from stdin, msgpack or JSON, as indented JSON (integers beyond 2^53 as ' +
        'strings, bytes as {"base64": ...}): for what the nats CLI prints raw, and as its --translate filter.',
    )
    .action(action(decodeStdin));
  examples(
    cmd,
    'nats kv get JETSCHED_tasks <id>.result --raw | jetsched decode',
    "nats stream view JETSCHED_DLQ --translate 'jetsched decode'",
    "nats sub 'jetsched.outcomes.>' --translate 'jetsched decode'",
  );
}

async function decodeStdin(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const bytes = new Uint8Array(Buffer.concat(chunks));
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  // a JSON document starts with one of these; a msgpack map or array never does
  const json = first !== undefined && '{["'.includes(String.fromCharCode(first));
  const value = decode(bytes, json ? ContentType.Json : ContentType.MsgPack);
  process.stdout.write(JSON.stringify(value, readable, 2) + '\n');
  return 0;
}

function readable(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return { base64: Buffer.from(v).toString('base64') };
  return v;
}
