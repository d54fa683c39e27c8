// The one place where errors and session verdicts become a stderr line and an exit code:
// 0 done, 1 runtime error, 2 usage error, 3 --wait-for never matched, 4 --fail-on matched,
// 5 data lost under --strict (docs/exit-codes.md).
import { UsageError } from '../src/errors.js';
import type { SessionOutcome } from '../src/sink/conditions.js';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
export const EXIT_WAIT_FOR_UNMATCHED = 3;
export const EXIT_FAIL_ON_MATCHED = 4;
export const EXIT_LOST_DATA = 5;

/** For --help: the same table as docs/exit-codes.md. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0  success (a --wait-for matched, or the session ended without one)',
  '  1  error (a truncated or corrupt capture, an output that cannot be written)',
  '  2  usage error (a bad flag or expression; nothing was read)',
  '  3  --wait-for never matched before the session ended',
  '  4  --fail-on matched an entry',
  '  5  the session lost data (gaps, drops) and --strict was given',
  'The first of 3, 4 and 5 to happen decides; an error (1) wins over all of them.',
].join('\n');

export function exitCodeOf(outcome: SessionOutcome): number {
  switch (outcome.verdict) {
    case 'ok':
      return EXIT_OK;
    case 'waitForUnmatched':
      return EXIT_WAIT_FOR_UNMATCHED;
    case 'failOnMatched':
      return EXIT_FAIL_ON_MATCHED;
    case 'lostData':
      return EXIT_LOST_DATA;
  }
}

export function reportAndExit(error: unknown): never {
  const usage = error instanceof UsageError;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`kubectl tap: ${message.split('\n')[0]}\n`);
  if (process.env.KUBECTL_TAP_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(usage ? EXIT_USAGE : EXIT_RUNTIME);
}
