import { UsageError } from '../src/errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2 };

/** "65536", "64KiB", "1M" -> bytes. */
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
