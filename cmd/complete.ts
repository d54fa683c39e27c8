// Shell completion the way kubectl plugins do it: on `kubectl tap <TAB>` kubectl (>= 1.26)
// runs `kubectl_complete-tap WORDS` (packaging/kubectl_complete-tap, which calls
// `kubectl-tap __complete WORDS`), the last word being the one typed so far, and expects
// cobra's answer: one candidate a line, then `:DIRECTIVE`. Subcommands and flags come from
// the commands' own yargs definitions; namespaces and pod names from the cluster, through
// kubectl with the context, kubeconfig and namespace the words name.
import { spawnSync } from 'node:child_process';
import yargs, { type CommandModule } from 'yargs';
import { COMMANDS } from './commands.js';

/** cobra's ShellCompDirective bits, as kubectl's completion scripts read them. */
const NO_FILE_COMPLETION = 4;
const FILE_COMPLETION = 0;

const NAMESPACE_FLAGS = new Set(['namespace', 'from-namespace', 'to-namespace', 'tap-namespace']);
const POD_FLAGS = new Set(['from-pod', 'to-pod']);
/** kubectl's own connection flags, passed on to the kubectl that lists namespaces and pods. */
const KUBECTL_FLAGS = ['kubeconfig', 'context', 'cluster', 'user'];

interface Flags {
  names: string[];
  aliases: Record<string, string>;
  takesValue: (name: string) => boolean;
  choices: Record<string, string[]>;
}

export function printCompletions(words: string[]): void {
  const { candidates, directive } = completions(words.length === 0 ? [''] : words);
  process.stdout.write(`${candidates.join('\n')}${candidates.length ? '\n' : ''}:${directive}\n`);
}

export function completions(words: string[]): { candidates: string[]; directive: number } {
  const current = words[words.length - 1];
  const before = words.slice(0, -1);
  const subcommand = COMMANDS.find((c) => c !== COMMANDS[0] && commandName(c) === firstPositional(before, flagsOf(COMMANDS[0])));
  const command = subcommand ?? COMMANDS[0];
  const flags = flagsOf(command);
  const prefixed = (list: string[]) => ({ candidates: list.filter((c) => c.startsWith(current)), directive: NO_FILE_COMPLETION });

  if (current.startsWith('-')) return prefixed(flags.names.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)));
  const previous = before[before.length - 1];
  if (previous?.startsWith('-') && !previous.includes('=')) {
    const flag = canonical(previous.replace(/^-+/, ''), flags);
    if (flags.takesValue(flag)) {
      if (flags.choices[flag]) return prefixed(flags.choices[flag]);
      if (NAMESPACE_FLAGS.has(flag)) return prefixed(fromCluster(['get', 'namespaces'], before, false));
      if (POD_FLAGS.has(flag)) return prefixed(fromCluster(['get', 'pods'], before, true));
      return { candidates: [], directive: FILE_COMPLETION };
    }
  }
  if (subcommand) {
    // read takes a capture file; the others take no positional argument.
    return commandName(subcommand) === 'read' ? { candidates: [], directive: FILE_COMPLETION } : { candidates: [], directive: NO_FILE_COMPLETION };
  }
  // The default command's POD_REGEX: a pod name, or a subcommand in first position.
  const positionals = positionalsOf(before, flags);
  const names = positionals.length === 0 ? COMMANDS.slice(1).map(commandName) : [];
  return prefixed([...names, ...fromCluster(['get', 'pods'], before, true)]);
}

function commandName(c: CommandModule): string {
  return String(c.command).split(' ')[0];
}

/** The options a command's builder declares (help included), read from a fresh yargs. */
function flagsOf(command: CommandModule): Flags {
  const y = yargs([]);
  if (typeof command.builder === 'function') command.builder(y);
  const o = (y as unknown as { getOptions(): { key: Record<string, boolean>; alias: Record<string, string[]>; boolean: string[]; count: string[]; choices: Record<string, string[]> } }).getOptions();
  const positional = [...String(command.command).matchAll(/[<[](\w[\w-]*)/g)].map((m) => m[1]);
  const aliases: Record<string, string> = {};
  for (const [name, list] of Object.entries(o.alias)) for (const a of list) aliases[a] = name;
  const names = Object.keys(o.key).filter((k) => k !== 'version' && !positional.includes(k) && !(k in aliases));
  names.push(...Object.keys(aliases));
  const noValue = new Set([...o.boolean, ...o.count, 'help']);
  return { names: names.sort(), aliases, takesValue: (n) => !noValue.has(n), choices: o.choices };
}

function canonical(name: string, flags: Flags): string {
  return flags.aliases[name] ?? name;
}

function positionalsOf(words: string[], flags: Flags): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith('-')) {
      if (!w.includes('=') && flags.takesValue(canonical(w.replace(/^-+/, ''), flags))) i++;
    } else out.push(w);
  }
  return out;
}

function firstPositional(words: string[], flags: Flags): string | undefined {
  return positionalsOf(words, flags)[0];
}

/** Names from `kubectl get`, with the words' connection flags (and namespace, for pods). */
function fromCluster(get: string[], words: string[], namespaced: boolean): string[] {
  const args = [...get, '-o', 'jsonpath={.items[*].metadata.name}', '--request-timeout=5s'];
  for (let i = 0; i < words.length - 1; i++) {
    const name = words[i].replace(/^--?/, '');
    if (KUBECTL_FLAGS.includes(name) || (namespaced && (name === 'namespace' || name === 'n') && words[i].startsWith('-'))) args.push(`--${name === 'n' ? 'namespace' : name}`, words[i + 1]);
  }
  if (namespaced && words.some((w) => w === '-A' || w === '--all-namespaces')) args.push('--all-namespaces');
  const r = spawnSync('kubectl', args, { encoding: 'utf8', timeout: 8000 });
  // No cluster, no rights: nothing to offer, and nothing printed into the user's prompt
  // unless KUBECTL_TAP_DEBUG asks (kubectl shows a plugin's stderr only with __complete).
  if (r.status !== 0 && process.env.KUBECTL_TAP_DEBUG) process.stderr.write(`kubectl ${args.join(' ')}: ${r.error?.message ?? r.stderr}\n`);
  return r.status === 0 ? r.stdout.split(/\s+/).filter(Boolean) : [];
}
