/** The `jetsched` command line, as a library function that tests call directly. */
import { CommanderError } from 'commander';
import { exitCodeOf } from './command.js';
import { createProgram } from './program.js';

/** Commander's codes for a missing or unknown command: exit 2, as for any usage error of a shell. */
const NO_COMMAND = new Set(['commander.help', 'commander.unknownCommand']);

/**
 * Runs `jetsched` with `argv` (without the node and script paths), writing to stdout and stderr, and
 * returns its exit code: the command's, 0 after help or the version, 2 without a known command, 1
 * after another usage error (commander printed it). What a command throws is thrown.
 */
export async function run(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.exitCode !== 0 && NO_COMMAND.has(err.code)) return 2;
    return err.exitCode;
  }
  return exitCodeOf(program) ?? 0;
}
