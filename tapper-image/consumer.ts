// One GET /entries stream. Entries are offered synchronously by the hub as the engine makes
// them, wait in a bounded queue, pass the consumer's filter (pushed down from the CLI, so
// only matches cross the network) and are written in batches. A consumer that reads slowly
// never makes the tapper grow: when its queue is full, entries are dropped for it alone and
// counted, and the count goes on its stream as a marker line where the entries went missing
// (a placeholder in the queue, after the last entry kept before them).
// A stream may also be capped in entries per second (--max-rate, the CLI's --node-max-rate):
// entries past the cap are dropped and counted the same way, so one busy node cannot take
// the whole of a CLI that many nodes share.
// Idle streams get a heartbeat line, so load balancers (cutting idle streams after 60 s)
// and the CLI see the stream is alive.

import type { ServerResponse } from 'node:http';
import type { Entry } from '../src/entry.js';
import type { EntryFilter } from '../src/sink/filter.js';

export interface ConsumerLimits {
  /** Bytes of serialized entries waiting at most. */
  queueBytes: number;
  /** A marker line at least this often when nothing else was written. */
  heartbeatMs: number;
  /** Entries written per second at most, bursts of one second's worth (0 or absent: no cap). */
  maxPerSecond?: number;
}

/** Written in one go up to this size (as LineOutput batches stdout). */
const WRITE_BATCH_BYTES = 16 * 1024;

interface Queued {
  line: string;
  /** The entry as the filter sees it (null without a filter). */
  view: Entry | null;
  /** A placeholder for entries dropped here: how many (line and view unused). */
  dropped?: number;
}

export class Consumer {
  emitted = 0;
  filteredOut = 0;
  dropped = 0;
  /** Of the dropped, those past the rate cap. */
  rateCapped = 0;
  queuedBytes = 0;
  maxQueuedBytes = 0;
  /** Drops already reported on the stream. */
  private droppedReported = 0;
  private readonly queue: Queued[] = [];
  private pumping = false;
  private closed = false;
  private lastWriteMs = Date.now();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly startedAt = new Date().toISOString();
  private tokens: number;
  private refilledAt = performance.now();
  /** Waiting for this stream to be no longer behind (a file played fast). */
  private caughtUpWaiters: (() => void)[] = [];

  constructor(
    readonly session: string,
    private readonly res: ServerResponse,
    readonly filter: EntryFilter | undefined,
    private readonly limits: ConsumerLimits,
    private readonly onClose: (c: Consumer) => void,
  ) {
    this.tokens = limits.maxPerSecond ?? 0;
    // Ticks at a third of the interval: an idle stream hears from us within the interval.
    const tick = Math.max(10, Math.floor(limits.heartbeatMs / 3));
    this.heartbeat = setInterval(() => {
      if (!this.pumping && Date.now() - this.lastWriteMs >= limits.heartbeatMs - tick) this.write(heartbeatLine());
    }, tick);
    this.heartbeat.unref();
    res.on('close', () => this.close());
    res.on('error', () => this.close());
  }

  /** More than half its queue waiting: a file played fast waits for it (file-source.ts). */
  get behind(): boolean {
    return !this.closed && this.queuedBytes > this.limits.queueBytes / 2;
  }

  /** Resolves once this stream is no longer behind, or closed: told by the pump, not polled. */
  whenCaughtUp(): Promise<void> {
    if (!this.behind) return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  private wakeCaughtUp(): void {
    if (this.caughtUpWaiters.length === 0 || this.behind) return;
    const waiters = this.caughtUpWaiters;
    this.caughtUpWaiters = [];
    for (const resolve of waiters) resolve();
  }

  get wantsView(): boolean {
    return this.filter !== undefined;
  }

  /** Synchronous: queue or drop. */
  offer(line: string, view: Entry | null): void {
    if (this.closed) return;
    if (this.queuedBytes + line.length > this.limits.queueBytes) {
      this.dropped += 1;
      const last = this.queue[this.queue.length - 1];
      if (last?.dropped !== undefined) last.dropped += 1;
      else this.queue.push({ line: '', view: null, dropped: 1 });
      this.schedule();
      return;
    }
    this.queue.push({ line, view });
    this.queuedBytes += line.length;
    if (this.queuedBytes > this.maxQueuedBytes) this.maxQueuedBytes = this.queuedBytes;
    this.schedule();
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    // After the current burst of entries (one capture callback), not once per entry.
    setImmediate(() => void this.pump());
  }

  /** Ends the stream (shutdown): what is queued is written first. */
  async end(): Promise<void> {
    if (this.closed) return;
    while (this.pumping) await new Promise((r) => setTimeout(r, 5));
    await this.pump();
    if (!this.closed) this.res.end();
    this.close();
  }

  toJSON(): Record<string, unknown> {
    return {
      session: this.session,
      since: this.startedAt,
      filter: this.filter?.source ?? null,
      emitted: this.emitted,
      filteredOut: this.filteredOut,
      dropped: this.dropped,
      rateCapped: this.rateCapped,
      maxPerSecond: this.limits.maxPerSecond ?? 0,
      queued: this.queue.length,
      queuedBytes: this.queuedBytes,
      maxQueuedBytes: this.maxQueuedBytes,
      queueLimitBytes: this.limits.queueBytes,
    };
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      let batch = '';
      /** Entries past the rate cap since the last line written: one marker for them. */
      let capped = 0;
      while (this.queue.length > 0 && !this.closed) {
        const item = this.queue.shift()!;
        this.queuedBytes -= item.line.length;
        this.wakeCaughtUp();
        if (item.dropped !== undefined) {
          batch += this.droppedMarker(item.dropped + capped);
          capped = 0;
        } else if (this.filter && !(await this.filter.matches(item.view!))) {
          this.filteredOut += 1;
          continue;
        } else if (!this.takeToken()) {
          this.dropped += 1;
          this.rateCapped += 1;
          capped += 1;
          continue;
        } else {
          if (capped > 0) batch += this.droppedMarker(capped);
          capped = 0;
          batch += item.line + '\n';
          this.emitted += 1;
        }
        if (batch.length >= WRITE_BATCH_BYTES || this.queue.length === 0) {
          const more = this.write(batch);
          batch = '';
          if (!more) await this.drained();
        }
      }
      if (capped > 0) batch += this.droppedMarker(capped);
      if (batch !== '') this.write(batch);
    } finally {
      this.pumping = false;
    }
  }

  private droppedMarker(count: number): string {
    this.droppedReported += count;
    return `{"marker":"dropped","count":${count},"total":${this.droppedReported}}\n`;
  }

  /** The rate cap's token bucket: refilled by the time passed, one second's worth at most. */
  private takeToken(): boolean {
    const rate = this.limits.maxPerSecond ?? 0;
    if (rate <= 0) return true;
    const now = performance.now();
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private write(text: string): boolean {
    if (this.closed) return true;
    this.lastWriteMs = Date.now();
    return this.res.write(text);
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done).off('close', done);
        resolve();
      };
      this.res.on('drain', done).on('close', done);
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.wakeCaughtUp();
    this.onClose(this);
  }
}

export function heartbeatLine(): string {
  return `{"marker":"heartbeat","time":"${new Date().toISOString()}"}\n`;
}
