/**
 * `jetsched completion bash|zsh`: a shell completion script for the commands and each command's
 * flags, as its help lists them (./help.ts is the one list of both).
 */
import { COMMAND_HELP } from '../help.js';
import { parse } from '../args.js';

/** The flags a command's help names, in order of first mention. */
export function flagsOf(help: string): string[] {
  return [...new Set([...help.matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0]))];
}

export function completionScript(shell: 'bash' | 'zsh'): string {
  const commands = [...Object.keys(COMMAND_HELP), 'help', 'completion'];
  const cases = Object.entries(COMMAND_HELP)
    .map(([cmd, help]) => `    ${cmd}) words="${flagsOf(help).join(' ')}" ;;`)
    .join('\n');
  const body = `# jetsched ${shell} completion: eval "$(jetsched completion ${shell})"
_jetsched() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commands.join(' ')} --help --version" -- "$cur"))
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    help) words="${Object.keys(COMMAND_HELP).join(' ')}" ;;
    completion) words="bash zsh" ;;
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words --help" -- "$cur"))
}
complete -F _jetsched jetsched
`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${body}` : body;
}

export function completionCommand(argv: string[]): number {
  const { positionals } = parse(argv, {});
  const shell = positionals[0];
  if (shell !== 'bash' && shell !== 'zsh') throw new Error('usage: jetsched completion bash|zsh');
  process.stdout.write(completionScript(shell));
  return 0;
}
