/** The `jetsched` command tree: every command with its options, help and examples. */
import { Command } from 'commander';
import { JETSCHED_VERSION } from '@jetsched/runtime';
import { addGlobalOptions } from './args.js';
import { action, examples } from './command.js';
import { addAttemptsCommand } from './commands/attempts.js';
import { addClusterCommand } from './commands/cluster.js';
import { addCompletionCommand } from './commands/completion.js';
import { addDashboardCommand } from './commands/dashboard.js';
import { addDecodeCommand } from './commands/decode.js';
import { addDemoCommand } from './commands/demo.js';
import { addDlqCommand } from './commands/dlq.js';
import { addExecutorsCommand } from './commands/executors.js';
import { addGroupCommands } from './commands/groups.js';
import { addProvisionCommand } from './commands/provision.js';
import { addQueueCommand } from './commands/queue.js';
import { addRoleCommands } from './commands/roles.js';
import { addScheduleCommand } from './commands/schedules.js';
import { addTaskCommands } from './commands/tasks.js';
import { addTopCommand } from './commands/top.js';

const VERSION = `jetsched ${JETSCHED_VERSION}`;

/**
 * A new `jetsched` program. It throws a `CommanderError` where commander would exit (help, version,
 * a usage error, after printing it); `run` turns that into an exit code.
 */
export function createProgram(): Command {
  const program = new Command('jetsched')
    .description('jetsched: a distributed task scheduler over NATS JetStream.')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .helpCommand(false)
    .configureHelp({ showGlobalOptions: true });
  addGlobalOptions(program);

  program.commandsGroup('Setup (once per cluster, and after an upgrade; roles refuse to start without it):');
  addProvisionCommand(program);
  program.commandsGroup(
    'Roles (run until SIGTERM or SIGINT, then drain; dev: all of them, for development):',
  );
  addRoleCommands(program);
  program.commandsGroup('On one machine:');
  addDemoCommand(program);
  addClusterCommand(program);
  program.commandsGroup('Tasks:');
  addTaskCommands(program);
  addAttemptsCommand(program);
  addDlqCommand(program);
  program.commandsGroup('Groups and executors:');
  addExecutorsCommand(program);
  addQueueCommand(program);
  addTopCommand(program);
  addGroupCommands(program);
  program.commandsGroup('Schedules:');
  addScheduleCommand(program);
  program.commandsGroup('Tools:');
  addDashboardCommand(program);
  addDecodeCommand(program);
  addCompletionCommand(program);
  addHelpCommand(program);
  program.command('version', { hidden: true }).action(
    action(() => {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }),
  );
  program.addHelpText(
    'after',
    '\nShell completion: eval "$(jetsched completion bash)" (or zsh).\n' +
      "jetsched <command> --help (or jetsched help <command>) shows a command's options and examples.",
  );
  hintAfterErrors(program, 'jetsched');
  return program;
}

/** `jetsched help [command...]`: the help of a command (`help dlq ls`: of a subcommand). */
function addHelpCommand(program: Command): void {
  const help = program
    .command('help')
    .summary("a command's options and examples")
    .argument('[command...]', 'the command, and its subcommand')
    .action(
      action<object, [string[]]>((_o, [names]) => {
        let cmd = program;
        for (const name of names) {
          const sub = cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
          if (!sub)
            program.error(`error: unknown command '${names.join(' ')}'`, {
              code: 'commander.unknownCommand',
            });
          cmd = sub;
        }
        cmd.outputHelp();
        return 0;
      }),
    );
  examples(help, 'jetsched help submit', 'jetsched help dlq ls');
}

/** After a usage error, each command points to its own help. */
function hintAfterErrors(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`(${path} --help shows its usage)`);
  for (const sub of cmd.commands) hintAfterErrors(sub, `${path} ${sub.name()}`);
}
