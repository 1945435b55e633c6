/** What every command of the tree shares: its action's exit code, and its examples. */
import type { Command } from 'commander';
import type { GlobalFlags } from './args.js';

/** The exit code the last action of a program returned, by program. */
const exitCodes = new WeakMap<Command, number>();

/** The program a command belongs to. */
export function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** The exit code an action of `program` returned, or undefined when none ran. */
export function exitCodeOf(program: Command): number | undefined {
  return exitCodes.get(program);
}

/**
 * A command's action: `fn` gets its options with the global ones, its arguments (`A`: as declared,
 * after their parsers) and the command, and returns the exit code `run` returns.
 */
export function action<O extends object, A extends unknown[] = [string]>(
  fn: (opts: O & GlobalFlags, args: A, cmd: Command) => number | Promise<number>,
): (this: Command) => Promise<void> {
  return async function (this: Command) {
    const code = await fn(this.optsWithGlobals<O & GlobalFlags>(), this.processedArgs as A, this);
    exitCodes.set(rootOf(this), code);
  };
}

/** Adds an `Examples:` section to a command's help: each line a command line, a `#` comment allowed. */
export function examples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

/** Adds `--json` to a read command: print what it reads as stored instead of a view for people. */
export function jsonOption(cmd: Command, what = 'the record'): Command {
  return cmd.option('--json', `print ${what} as stored (JSON) instead of a view for people`);
}

/** Resolves at the first SIGTERM or SIGINT: what a command that runs until stopped waits for. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}
