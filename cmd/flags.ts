import type { Argv } from 'yargs';
import { UsageError } from '../src/errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, mi: 1024 ** 2, gi: 1024 ** 3, g: 1024 ** 3, gib: 1024 ** 3 };

/** "65536", "64KiB", "1M", "256Mi" -> bytes. */
export function parseByteSize(text: string, flag: string): number {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError(`${flag} must be a size like 65536, 64KiB or 1MiB, not "${text}"`);
  return Number(match[1]) * unit;
}

/**
 * yargs-parser reads a lone '-' as an empty flag, so main.ts renames it to this before
 * parsing (no real argument contains a NUL) and commands map it back to stdin.
 */
export const STDIN_ARG = '\u0000stdin';

/** The output and filter flags, defined once for `read` and `tap`. */
export interface OutputArgs {
  filter?: string;
  output: 'ndjson' | 'summary';
  'max-body': string;
  redact: boolean;
  quiet: boolean;
}

export function withOutputFlags<T>(y: Argv<T>): Argv<T & OutputArgs> {
  return y
    .option('filter', { alias: 'f', type: 'string', describe: 'JSONata expression; only entries for which it is true are printed' })
    .option('output', { alias: 'o', choices: ['ndjson', 'summary'] as const, default: 'ndjson' as const, describe: 'output format' })
    .option('max-body', { type: 'string', default: '64KiB', describe: 'body bytes kept per entry (sizes stay exact)' })
    .option('redact', { type: 'boolean', default: true, describe: 'redact credentials (use --no-redact to turn off)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or end-of-run figures on stderr' }) as unknown as Argv<T & OutputArgs>;
}
