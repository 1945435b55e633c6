/**
 * `jetsched completion bash|zsh`: a shell completion script made from the command tree: the
 * commands, each command's subcommands and flags (the global ones too), and argument choices.
 */
import { Argument, type Command } from 'commander';
import { action, examples, rootOf } from '../command.js';

/** The subcommands of `cmd` its help lists, but the help command. */
function subcommands(cmd: Command): Command[] {
  return cmd
    .createHelp()
    .visibleCommands(cmd)
    .filter((c) => c.name() !== 'help');
}

/**
 * What completes after `cmd`: its subcommands and their aliases, argument choices, its flags and its
 * parents' (but `--version`, which only the program takes first).
 */
function wordsOf(cmd: Command): string[] {
  const words = subcommands(cmd).flatMap((c) => [c.name(), ...c.aliases()]);
  for (const a of cmd.registeredArguments) words.push(...(a.argChoices ?? []));
  for (let c: Command | null = cmd; c; c = c.parent)
    for (const o of c.options) if (o.long && !o.hidden && o.long !== '--version') words.push(o.long);
  return [...new Set([...words, '--help'])];
}

/** `case` patterns of a command's words: `dlq ls` matches `dlq ls` and `dlq list`, and what follows. */
function patterns(path: Command[]): string {
  const names = path.map((c) => [c.name(), ...c.aliases()]);
  const joined = names.reduce<string[]>(
    (acc, n) => acc.flatMap((a) => n.map((x) => (a ? `${a} ${x}` : x))),
    [''],
  );
  return joined.map((p) => `"${p}"|"${p} "*`).join('|');
}

/** Every command under `cmd` with the path to it, deepest first (so that a `case` tries them first). */
function paths(cmd: Command, above: Command[] = []): Command[][] {
  return subcommands(cmd).flatMap((c) => [...paths(c, [...above, c]), [...above, c]]);
}

/** The completion script of `program` for `shell`. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const top = [...wordsOf(program).filter((w) => !w.startsWith('-')), 'help', '--help', '--version'];
  const cases = paths(program)
    .sort((a, b) => b.length - a.length)
    .map((path) => `    ${patterns(path)}) words="${wordsOf(path.at(-1) as Command).join(' ')}" ;;`)
    .join('\n');
  const helpWords = subcommands(program)
    .map((c) => c.name())
    .join(' ');
  const body = `# jetsched ${shell} completion: eval "$(jetsched completion ${shell})"
_jetsched() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words line
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${top.join(' ')}" -- "$cur"))
    return 0
  fi
  # the words before the one completed, flags and their values left out
  line=$(printf ' %s' "\${COMP_WORDS[@]:1:COMP_CWORD-1}" | sed 's/ -[^ ]*//g; s/^ *//')
  case "$line" in
${cases}
    help|"help "*) words="${helpWords}" ;;
    *) words="--help" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _jetsched jetsched
`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${body}` : body;
}

/** Adds `completion` to `program`. */
export function addCompletionCommand(program: Command): void {
  const cmd = program
    .command('completion')
    .summary('print a bash or zsh completion script')
    .description('Prints a completion script for the commands, their subcommands and flags.')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action(
      action<object, ['bash' | 'zsh']>((_o, [shell], c) => {
        process.stdout.write(completionScript(rootOf(c), shell));
        return 0;
      }),
    );
  examples(
    cmd,
    'eval "$(jetsched completion bash)"     # in ~/.bashrc',
    'eval "$(jetsched completion zsh)"      # in ~/.zshrc',
  );
}
