// One entry stream, many outputs: every entry goes through --filter, then to each output (the
// printer of -o, the run summary's counts, the service map's edges, HAR, OpenAPI), then to
// the CI conditions. `read` and the live `tap` feed it the same way, so each output is
// written once for both.
// Synchronous when nothing needs JSONata (no --filter, --wait-for or --fail-on): entries are
// then handled the moment the engine makes them (see read-capture.ts for why that matters).

import type { Entry } from '../entry.js';
import type { SessionConditions } from './conditions.js';
import type { EntryFilter } from './filter.js';

/** A printer or an aggregate: anything that takes the reported entries in order. */
export interface EntryOutput {
  add(entry: Entry): void;
}

export class EntryPipeline {
  /** Entries offered before the session stopped (before --filter). */
  entries = 0;
  /** Entries that passed --filter. */
  reported = 0;

  constructor(
    private readonly conditions: SessionConditions,
    private readonly outputs: readonly EntryOutput[],
    private readonly filter?: EntryFilter,
  ) {}

  get synchronous(): boolean {
    return this.filter === undefined && !this.conditions.needsEvaluation;
  }

  get stopped(): boolean {
    return this.conditions.stopped;
  }

  /**
   * Entries offered after the session stopped are ignored: --limit means N, not N and a few.
   * Asynchronous offers are handled one after the other in the order offered, even when the
   * source does not wait for each (a live fan-in): an entry after a --fail-on match is never
   * printed, and output keeps the source's order.
   */
  offer(entry: Entry, lossesSoFar: number): void | Promise<void> {
    if (!this.synchronous) return (this.queue = this.queue.then(() => this.offerAsync(entry, lossesSoFar)));
    if (!this.accepts(lossesSoFar)) return;
    this.report(entry);
    this.conditions.counted();
  }

  private queue: Promise<void> = Promise.resolve();

  private accepts(lossesSoFar: number): boolean {
    if (this.conditions.stopped) return false;
    this.conditions.sawLosses(lossesSoFar);
    if (this.conditions.stopped) return false;
    this.entries += 1;
    return true;
  }

  private async offerAsync(entry: Entry, lossesSoFar: number): Promise<void> {
    if (!this.accepts(lossesSoFar)) return;
    if (this.filter && !(await this.filter.matches(entry))) return;
    this.report(entry);
    await this.conditions.evaluate(entry);
    this.conditions.counted();
  }

  private report(entry: Entry): void {
    this.reported += 1;
    for (const output of this.outputs) output.add(entry);
  }
}
