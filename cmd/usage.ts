// What a user reads when the command line itself is wrong: yargs' own messages ("Unknown
// argument: bogus", "Not enough non-option arguments: got 0, need at least 1") rewritten as
// one line that names the problem and where to look. The caller exits 2.

/** The options that mean something without a command. */
const GLOBAL_FLAGS = ['--help', '-h', '--version'];

export function usageMessage(yargsMessage: string, argv: readonly string[], commands: readonly string[]): string {
  const command = argv.find((a) => commands.includes(a));
  const help = `'kubectl tap ${command ? `${command} ` : ''}--help'`;
  const unknown = /^Unknown arguments?: (.+)$/.exec(yargsMessage);
  if (unknown) {
    const names = unknown[1]!.split(', ');
    const isFlag = (n: string) => argv.some((a) => a === `-${n}` || a === `--${n}` || a.startsWith(`--${n}=`));
    const flags = names.filter(isFlag);
    if (flags.length > 0) return `unknown option ${flags.map((f) => (f.length === 1 ? `-${f}` : `--${f}`)).join(', ')}; see ${help}`;
    if (command === undefined) {
      // Without a subcommand the first word is the live session's POD_REGEX, so a second
      // word is the mistake; a first word a typo away from a command is the likely cause.
      const first = argv.find((a) => !a.startsWith('-'));
      const near = first === undefined ? undefined : commands.find((c) => editDistance(c, first) <= 2);
      if (near !== undefined) return `unknown command "${first}": did you mean ${near}? (the commands are ${commands.join(', ')})`;
      return `unexpected argument "${names[0]}": kubectl tap takes one POD_REGEX or TYPE/NAME (the commands are ${commands.join(', ')}); see ${help}`;
    }
    return `unexpected argument "${names[0]}" for ${command}; see ${help}`;
  }
  const suggestion = /^Did you mean (.+)\?$/.exec(yargsMessage);
  if (suggestion) return `unknown command "${argv.find((a) => !a.startsWith('-'))}": did you mean ${suggestion[1]}? (the commands are ${commands.join(', ')})`;
  if (/^Not enough non-option arguments/.test(yargsMessage)) {
    const flag = argv.find((a) => a.startsWith('-') && !GLOBAL_FLAGS.includes(a));
    if (command === undefined && flag !== undefined) return `unknown option ${flag.split('=')[0]}; see 'kubectl tap --help'`;
    if (command === 'read') return 'read needs a capture file: kubectl tap read FILE (a pcap or pcapng file, or - for stdin)';
    if (command === undefined) return `say which command to run (${commands.join(', ')}); see 'kubectl tap --help'`;
  }
  return `${yargsMessage.split('\n')[0]}; see ${help}`;
}

/** Levenshtein distance, for "did you mean" on short command names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length]!;
}
