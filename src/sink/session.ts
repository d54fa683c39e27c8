// A tap session's sink side, the same for `kubectl tap read` and the live `kubectl tap`: the
// filter, the CI conditions, the printer or document of -o, the service map file, the
// end-of-run summary, --duration and the signals that end a session. A source (a capture
// reader, the cluster fan-in) offers entries to `pipeline` and calls close() at its end.

import type { Entry } from '../entry.js';
import { UsageError } from '../errors.js';
import { Stats } from '../stats.js';
import { writeFileAtomic } from './atomic-file.js';
import { SessionConditions, type SessionEnd, type SessionOutcome } from './conditions.js';
import { EdgeTable } from './edges.js';
import { compileFilter } from './filter.js';
import { lossTotal } from './losses.js';
import type { LineOutput } from './output.js';
import { EntryPipeline, type EntryOutput } from './pipeline.js';
import { isLineMode, printerFor, type OutputMode } from './printers.js';
import { buildReport, EntryCounts, reportText, type RunReport } from './run-summary.js';
import { PcapOut } from './pcap-out.js';
import { ServiceMapFile } from './service-map-file.js';
import { documentFor, type EntryDocument } from './documents.js';

export interface SessionSpec {
  filter?: string;
  output: OutputMode;
  limit?: number;
  durationMs?: number;
  waitFor?: string;
  failOn?: string;
  strict: boolean;
  serviceMap?: string;
  /** --pcap-out: the packets of the reported calls as pcapng; `pcapSource` names its interfaces. */
  pcapOut?: string;
  pcapSource?: string;
  summaryJson?: string;
  quiet: boolean;
  /** Colour -o summary (on a terminal). */
  colour: boolean;
}

export interface SessionEndState {
  frames: number | null;
  stats: Record<string, number>;
}

export class TapSession {
  readonly pipeline: EntryPipeline;
  /** Counters of the sink side (filter evaluation errors), merged into the run's stats. */
  readonly stats = new Stats();
  private readonly conditions: SessionConditions;
  private readonly edges = new EdgeTable();
  private readonly counts = new EntryCounts();
  private readonly document: EntryDocument | null;
  private readonly mapFile: ServiceMapFile | null;
  /** --pcap-out; the source hands it every packet (read-capture.ts, the engine's packet hook). */
  readonly pcapOut: PcapOut | null;
  private readonly stopListeners: Array<(reason: SessionEnd) => void> = [];
  private readonly cleanups: Array<() => void> = [];

  /** Compiles every expression and checks every flag: a UsageError before any input is read. */
  constructor(
    private readonly spec: SessionSpec,
    private readonly output: LineOutput,
  ) {
    if (spec.limit !== undefined && !(Number.isInteger(spec.limit) && spec.limit >= 1)) throw new UsageError('--limit must be a positive integer');
    const compile = (source: string | undefined, flag: string) => (source === undefined ? undefined : compileFilter(source, this.stats, flag));
    this.conditions = new SessionConditions(
      { waitFor: compile(spec.waitFor, '--wait-for'), failOn: compile(spec.failOn, '--fail-on'), limit: spec.limit, strict: spec.strict },
      // However the session ends (a --wait-for match as much as --duration), the source hears it.
      (reason) => {
        for (const listener of this.stopListeners) listener(reason);
      },
    );
    const outputs: EntryOutput[] = [this.counts, this.edges];
    if (isLineMode(spec.output)) {
      const print = printerFor(spec.output, spec.colour);
      outputs.push({ add: (entry: Entry) => output.writeLine(print(entry)) });
      this.document = null;
    } else {
      this.document = documentFor(spec.output, this.edges);
      if (this.document.add) outputs.push(this.document as EntryOutput);
    }
    this.mapFile = spec.serviceMap === undefined ? null : new ServiceMapFile(spec.serviceMap, this.edges);
    this.pcapOut = null;
    if (spec.pcapOut !== undefined) {
      this.pcapOut = new PcapOut(spec.pcapOut, spec.pcapSource ?? 'capture');
      outputs.push(this.pcapOut);
      // Opt-in and said out loud, even under --quiet: packets are not redacted.
      process.stderr.write(`kubectl tap: --pcap-out ${spec.pcapOut}: writing raw packets, with the credentials and bodies that entries redact\n`);
    }
    this.pipeline = new EntryPipeline(this.conditions, outputs, compile(spec.filter, '--filter'));
  }

  /** Starts --duration, the service map's rewrites and the signal handlers. */
  start(): void {
    if (this.spec.durationMs !== undefined) {
      const timer = setTimeout(() => this.stop('duration'), this.spec.durationMs);
      this.cleanups.push(() => clearTimeout(timer));
    }
    if (this.mapFile) this.cleanups.push(this.mapFile.startRewriting());
    // A CI runner's timeout sends SIGTERM, a person presses Ctrl-C: either ends the session
    // as --duration does (the outputs are written, --wait-for's verdict is given).
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => this.stop('signal');
      process.on(signal, handler);
      this.cleanups.push(() => process.off(signal, handler));
    }
  }

  /** Called by the source when it must stop reading (a timer or a signal may come at any time). */
  onStop(listener: (reason: SessionEnd) => void): void {
    this.stopListeners.push(listener);
  }

  stop(reason: SessionEnd): void {
    this.conditions.end(reason);
  }

  /**
   * Ends the session: the verdict, the document of -o on stdout, the service map and
   * --summary-json written, the summary on stderr. `exitCodeOf` is cmd's mapping of verdicts.
   * With `failure` (an error that ends the run with exit 1), files are still written, so a CI
   * job keeps what was seen before the damage, and the summary is left to the error line.
   */
  async close(end: SessionEndState, exitCodeOf: (outcome: SessionOutcome) => number, failure?: unknown): Promise<{ outcome: SessionOutcome; report: RunReport }> {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    if (this.pcapOut) {
      this.pcapOut.close();
      for (const [name, n] of Object.entries(this.pcapOut.counts)) if (n > 0) this.stats.add(`pcapOut.${name}`, n);
    }
    const stats = { ...end.stats, ...this.stats.toJSON() };
    const outcome = this.conditions.outcome(lossTotal(Object.entries(stats)));
    const exitCode = failure === undefined ? exitCodeOf(outcome) : 1;
    const report = buildReport({ frames: end.frames, entries: this.pipeline.entries, stats, outcome, exitCode }, this.counts, this.edges);
    if (this.document && failure === undefined) this.output.writeLine((await this.document.render()).replace(/\n$/, ''));
    await this.output.flush();
    if (this.mapFile) await this.mapFile.write();
    if (this.spec.summaryJson !== undefined) await writeFileAtomic(this.spec.summaryJson, JSON.stringify(report, null, 2) + '\n');
    if (!this.spec.quiet && failure === undefined) process.stderr.write(reportText(report));
    return { outcome, report };
  }
}
