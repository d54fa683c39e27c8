// From the engine to every open /entries stream. An entry is serialized once; each consumer
// gets it with its own `node` and `capture` (which ends are local depends on its session's
// targets), spliced onto that one serialization. The ownership rule (src/node/ownership.ts)
// is applied per session: each session has its own idea of which pods are targets.

import type { CaptureInfo, Entry } from '../src/entry.js';
import type { Dialed } from '../src/node/dnat.js';
import { placeEntry } from '../src/node/ownership.js';
import type { TargetRegistry } from '../src/node/targets.js';
import type { Stats } from '../src/stats.js';
import type { Consumer } from './consumer.js';

interface SessionTotals {
  emitted: number;
  filteredOut: number;
  dropped: number;
  /** Of the dropped, those past the stream's rate cap. */
  rateCapped: number;
  otherNode: number;
}

export class Hub {
  private readonly consumers = new Set<Consumer>();
  /** Counts of streams already closed, per session, so /stats keeps them. */
  private readonly finished = new Map<string, SessionTotals>();
  entries = 0;

  constructor(
    private readonly nodeName: string,
    private readonly targets: TargetRegistry,
    private readonly stats: Stats,
    /** File source: every entry of the file concerns every session (it is the capture). */
    private readonly reportUntargeted: boolean,
  ) {}

  add(consumer: Consumer): void {
    this.consumers.add(consumer);
  }

  remove(consumer: Consumer): void {
    if (!this.consumers.delete(consumer)) return;
    const t = this.totals(consumer.session);
    t.emitted += consumer.emitted;
    t.filteredOut += consumer.filteredOut;
    t.dropped += consumer.dropped;
    t.rateCapped += consumer.rateCapped;
  }

  get open(): readonly Consumer[] {
    return [...this.consumers];
  }

  /**
   * Resolves once no open stream is behind (a file played fast is the only user). Waits on
   * the streams' pumps: polled every 2 ms, 20 tappers waiting for a slow reader spent more
   * CPU on their timers than on their entries (bench/scale.ts).
   */
  async caughtUp(): Promise<void> {
    for (let c = this.firstBehind(); c; c = this.firstBehind()) await c.whenCaughtUp();
  }

  private firstBehind(): Consumer | undefined {
    for (const c of this.consumers) if (c.behind) return c;
    return undefined;
  }

  publish(entry: Entry, dialed: Dialed | null): void {
    this.entries += 1;
    if (this.consumers.size === 0) {
      this.stats.add('hub.noConsumer');
      return;
    }
    let json: string | null = null;
    const spliced = new Map<string, string>();
    let counted = false;
    for (const consumer of this.consumers) {
      const session = this.targets.session(consumer.session);
      const placement = placeEntry(entry, session, this.nodeName, this.reportUntargeted);
      if (placement.kind === 'unrelated') continue;
      if (placement.kind === 'otherNode') {
        // Counted once per entry in the engine figures, per session below.
        if (!counted) this.stats.add('ownership.otherNode');
        counted = true;
        this.totals(consumer.session).otherNode += 1;
        continue;
      }
      const capture: CaptureInfo = { local: placement.local };
      if (dialed !== null) capture.dialed = dialed;
      const tail = `,"node":${JSON.stringify(this.nodeName)},"capture":${JSON.stringify(capture)}}`;
      let line = spliced.get(tail);
      if (line === undefined) {
        json ??= JSON.stringify(entry);
        line = json.slice(0, -1) + tail;
        spliced.set(tail, line);
      }
      consumer.offer(line, consumer.wantsView ? { ...entry, node: this.nodeName, capture } : null);
    }
  }

  /** Per session: live streams plus those already closed. */
  sessionTotals(): Record<string, SessionTotals> {
    const out: Record<string, SessionTotals> = {};
    for (const [id, t] of this.finished) out[id] = { ...t };
    for (const c of this.consumers) {
      const t = (out[c.session] ??= { emitted: 0, filteredOut: 0, dropped: 0, rateCapped: 0, otherNode: this.finished.get(c.session)?.otherNode ?? 0 });
      t.emitted += c.emitted;
      t.filteredOut += c.filteredOut;
      t.dropped += c.dropped;
      t.rateCapped += c.rateCapped;
    }
    return out;
  }

  private totals(session: string): SessionTotals {
    let t = this.finished.get(session);
    if (t === undefined) {
      t = { emitted: 0, filteredOut: 0, dropped: 0, rateCapped: 0, otherNode: 0 };
      this.finished.set(session, t);
    }
    return t;
  }
}
