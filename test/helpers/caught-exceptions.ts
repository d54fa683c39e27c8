// Counters of exceptions the engine caught to stay alive: tcp.parserErrors and
// engine.parserErrors (a dissector threw at the engine), engine.detectorErrors.NAME (a
// detector threw), and each dissector's own NAME.internalError(s) (its last-resort catch).
// The engine survives these by design, so a test that only watches for escaping exceptions
// would pass a dissector broken on every input; robustness tests fail on any of them.
// Malformed input has counters of its own (malformed, hpackErrors, ...): those are allowed.
export const CAUGHT_EXCEPTION_COUNTER = /(?:^|\.)(?:internalErrors?|parserErrors|detectorErrors)(?:\.|$)/;

/** "name=count" of every caught-exception counter above zero. */
export function caughtExceptions(stats: Record<string, number>): string[] {
  return Object.entries(stats)
    .filter(([name, value]) => CAUGHT_EXCEPTION_COUNTER.test(name) && value > 0)
    .map(([name, value]) => `${name}=${value}`);
}
