// CI mode: what decides how a session ends and what it says about it. The first event
// decides: a --fail-on match, a --wait-for match, a loss under --strict, or the end of the
// session (--limit, --duration, a signal, the end of the input). cmd/ maps the verdict to
// an exit code; an error (a truncated capture, a lost cluster) is raised instead and wins
// over all of these.

import type { Entry } from '../entry.js';
import type { EntryFilter } from './filter.js';

/** Why the session stopped. */
export type SessionEnd = 'input' | 'limit' | 'duration' | 'signal' | 'waitFor' | 'failOn' | 'lostData' | 'outputClosed';

export type Verdict = 'ok' | 'waitForUnmatched' | 'failOnMatched' | 'lostData';

export interface SessionOutcome {
  verdict: Verdict;
  reason: SessionEnd;
  /** The entry that matched --wait-for or --fail-on. */
  matched?: { id: string; summary: string };
}

export interface ConditionOptions {
  waitFor?: EntryFilter;
  failOn?: EntryFilter;
  /** Stop after this many entries have passed --filter. */
  limit?: number;
  /** A loss fails the session (exit 5). */
  strict: boolean;
}

export class SessionConditions {
  private decided: SessionOutcome | null = null;
  private ended: SessionEnd | null = null;
  private reported = 0;

  /** `onEnd` hears the first end, whatever caused it: the source must stop reading. */
  constructor(
    private readonly options: ConditionOptions,
    private readonly onEnd: (reason: SessionEnd) => void = () => {},
  ) {}

  /** True once the session has nothing more to learn: stop reading, write the outputs. */
  get stopped(): boolean {
    return this.ended !== null;
  }

  get needsEvaluation(): boolean {
    return this.options.waitFor !== undefined || this.options.failOn !== undefined;
  }

  /** The session ends for a reason outside the entries (--duration, a signal, end of input). */
  end(reason: SessionEnd): void {
    if (this.ended !== null) return;
    this.ended = reason;
    this.onEnd(reason);
  }

  /** --strict: called with the loss count as it stood when an entry (or the end) came. */
  sawLosses(lossesSoFar: number): void {
    if (!this.options.strict || lossesSoFar === 0 || this.decided) return;
    this.decided = { verdict: 'lostData', reason: 'lostData' };
    this.end('lostData');
  }

  /** An entry that passed --filter was reported: counts towards --limit. */
  counted(): void {
    this.reported += 1;
    if (this.options.limit !== undefined && this.reported >= this.options.limit) this.end('limit');
  }

  /**
   * --fail-on and --wait-for on a reported entry (before counted(), so the entry that
   * reaches --limit can still match). --fail-on is checked first: one entry matching both fails.
   */
  async evaluate(entry: Entry): Promise<void> {
    const { failOn, waitFor } = this.options;
    if (this.decided) return;
    if (failOn && (await failOn.matches(entry))) {
      this.decided = { verdict: 'failOnMatched', reason: 'failOn', matched: { id: entry.id, summary: entry.summary } };
      this.end('failOn');
    } else if (waitFor && (await waitFor.matches(entry))) {
      this.decided = { verdict: 'ok', reason: 'waitFor', matched: { id: entry.id, summary: entry.summary } };
      this.end('waitFor');
    }
  }

  /** The outcome once the session is over, with the losses counted at its end. */
  outcome(lossesAtEnd: number): SessionOutcome {
    this.ended ??= 'input'; // the source has already stopped: nobody to tell
    this.sawLosses(lossesAtEnd);
    if (this.decided) return this.decided;
    const reason = this.ended!;
    return { verdict: this.options.waitFor ? 'waitForUnmatched' : 'ok', reason };
  }
}
