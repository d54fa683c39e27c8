// The one place where errors become a stderr line and an exit code:
// 0 done, 1 runtime error, 2 usage error.
import { UsageError } from '../src/errors.js';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

export function reportAndExit(error: unknown): never {
  const usage = error instanceof UsageError;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`kubectl tap: ${message.split('\n')[0]}\n`);
  if (process.env.KUBECTL_TAP_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(usage ? EXIT_USAGE : EXIT_RUNTIME);
}
