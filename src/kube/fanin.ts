// The fan-in: one streaming GET /entries per ready tapper, through the API server's pods
// proxy (`pods/https:POD:8449/proxy/entries`), read line by line as it arrives. A stream that
// breaks or goes silent (the tappers send a heartbeat at least every 15 s) is reconnected
// with backoff; the time a node was not streaming is its gap, reported when it resumes and
// summed at the end. A node's tapper that is replaced (pod deleted, node restarted) is the
// same node resuming. Markers are not entries: heartbeats are hidden, drops summed.
import type { IncomingMessage } from 'node:http';
import type { KubeClient } from './client.js';
import { ApiError } from './errors.js';
import { readLines } from './informer.js';
import { TAPPER_PORT } from './labels.js';
import type { ReadyTapper } from './tapper-watch.js';
import { TapperVersionError } from './tapper-version.js';
import type { TargetsBody } from './targets.js';
import { parseStreamLine } from './stream-line.js';

const SILENCE_LIMIT_MS = 45_000;
const MAX_BACKOFF_MS = 10_000;

export interface FanInOptions {
  namespace: string;
  token: string;
  session: string;
  /** The pushed-down JSONata filter, if any. */
  filter?: string;
  onEntry(entry: Record<string, unknown>): void;
  onNotice(line: string): void;
  /** A failure no reconnect can fix (a refused filter, a wrong token, a tapper of another version). */
  onFatal(err: Error): void;
  /** Before a tapper's first stream: rejects with a TapperVersionError if it must not be used. */
  verify?(tapper: ReadyTapper): Promise<void>;
}

interface NodeStream {
  node: string;
  tapper: ReadyTapper;
  res?: IncomingMessage;
  connected: boolean;
  everConnected: boolean;
  /** When this node stopped streaming (performance.now()), undefined while it streams. */
  gapSince?: number;
  /** The gap was opened because the tapper stopped being ready; its stream may still deliver what it flushes. */
  gapTentative?: boolean;
  backoffMs: number;
  retry?: NodeJS.Timeout;
  silence?: NodeJS.Timeout;
  /** The PUT /targets in flight (one per node at most), and whether newer targets wait for it. */
  putting?: Promise<void>;
  putAgain?: boolean;
}

export interface FanInFigures {
  entries: number;
  dropped: number;
  gaps: { node: string; seconds: number }[];
  malformedLines: number;
  nodes: number;
}

export class FanIn {
  private readonly nodes = new Map<string, NodeStream>();
  private targets: TargetsBody | undefined;
  private stopped = false;
  /** Reading stopped by the brake (fanin-brake.ts): the output is behind. */
  private paused = false;
  readonly figures: FanInFigures = { entries: 0, dropped: 0, gaps: [], malformedLines: 0, nodes: 0 };

  constructor(
    private readonly client: KubeClient,
    private readonly opts: FanInOptions,
  ) {}

  private proxyPath(pod: string, path: string): string {
    return `/api/v1/namespaces/${this.opts.namespace}/pods/https:${pod}:${TAPPER_PORT}/proxy${path}`;
  }

  /** The tappers ready now: connects new ones, moves a node to its replacement tapper. */
  setTappers(ready: ReadyTapper[]): void {
    if (this.stopped) return;
    // A node whose tapper is no longer ready (deleted, terminating, failing its probe) stopped
    // capturing now, even if its stream has not ended yet: the gap starts here.
    const readyUids = new Set(ready.map((t) => t.uid));
    for (const s of this.nodes.values()) {
      if (!readyUids.has(s.tapper.uid) && s.gapSince === undefined) {
        this.lost(s, 'its tapper is not ready');
        s.gapTentative = s.connected;
      }
    }
    for (const tapper of ready) {
      const known = this.nodes.get(tapper.node);
      if (!known) {
        const stream: NodeStream = { node: tapper.node, tapper, connected: false, everConnected: false, backoffMs: 500 };
        this.nodes.set(tapper.node, stream);
        this.figures.nodes = this.nodes.size;
        void this.connect(stream);
      } else if (known.tapper.uid !== tapper.uid) {
        known.gapTentative = false;
        known.tapper = tapper;
        known.res?.destroy();
        clearTimeout(known.retry);
        known.backoffMs = 500;
        void this.connect(known);
      }
    }
  }

  /**
   * Stops reading every stream (and new ones as they connect) until resume(); the silence
   * watch is off meanwhile, as a paused stream is quiet because of us.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const s of this.nodes.values()) {
      clearTimeout(s.silence);
      s.res?.pause();
    }
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const s of this.nodes.values()) {
      if (!s.res || !s.connected) continue;
      this.watchSilence(s);
      s.res.resume();
    }
  }

  /** New targets for every tapper (and the renewal before their ttl passes). */
  async sendTargets(targets: TargetsBody): Promise<void> {
    this.targets = targets;
    await Promise.all([...this.nodes.values()].map((s) => this.putTargets(s).catch(() => undefined)));
  }

  /**
   * One PUT /targets in flight per node; targets that change meanwhile are sent once it is
   * answered, the latest only. Pods replaced in a burst change the targets many times a second
   * while a tapper takes its time to open a new capture handle: a PUT per change and node piled
   * up requests (and their bodies, and a connection each) without bound (bench/scale.ts).
   */
  private putTargets(s: NodeStream): Promise<void> {
    if (!this.targets) return Promise.resolve();
    if (s.putting) {
      s.putAgain = true;
      return s.putting;
    }
    const send = async () => {
      do {
        s.putAgain = false;
        await this.client.json('PUT', this.proxyPath(s.tapper.pod, '/targets'), {
          query: { session: this.opts.session },
          headers: { 'X-Tap-Token': this.opts.token },
          body: { ...this.targets, node: s.node },
        });
      } while (s.putAgain && !this.stopped);
    };
    const putting = send().finally(() => {
      if (s.putting === putting) s.putting = undefined;
    });
    s.putting = putting;
    return putting;
  }

  private async connect(s: NodeStream): Promise<void> {
    if (this.stopped) return;
    const tapper = s.tapper;
    try {
      await this.opts.verify?.(tapper);
      const res = await this.client.stream(this.proxyPath(tapper.pod, '/entries'), {
        query: { session: this.opts.session, filter: this.opts.filter },
        headers: { 'X-Tap-Token': this.opts.token, Accept: 'application/x-ndjson' },
      });
      // The targets go once the stream is open: a tapper captures a target's traffic only
      // after it has them, and then this stream is already there for the first entries. In
      // the other order whatever came between the two was lost (a TLS handshake, a first
      // call). The response waits, paused, while the PUT is under way.
      try {
        await this.putTargets(s);
      } catch (err) {
        res.destroy();
        throw err;
      }
      if (this.stopped || s.tapper !== tapper) {
        res.destroy();
        return;
      }
      s.res = res;
      s.connected = true;
      s.backoffMs = 500;
      if (s.gapSince !== undefined) {
        const seconds = (performance.now() - s.gapSince) / 1000;
        this.figures.gaps.push({ node: s.node, seconds });
        this.opts.onNotice(`node ${s.node}: stream resumed after a ${seconds.toFixed(1)} s gap (calls in it were not seen)`);
        s.gapSince = undefined;
      } else if (!s.everConnected) {
        this.opts.onNotice(`+ node ${s.node} (tapper ${tapper.pod})`);
      }
      s.everConnected = true;
      this.watchSilence(s);
      const reading = readLines(res, (line) => {
        this.watchSilence(s);
        this.line(line);
      });
      // After readLines' 'data' listener, which would set the stream flowing again.
      if (this.paused) res.pause();
      await reading;
    } catch (err) {
      if (err instanceof TapperVersionError) {
        this.opts.onFatal(err);
        return;
      }
      if (err instanceof ApiError && (err.code === 400 || err.code === 401 || err.code === 403)) {
        this.opts.onFatal(new Error(`tapper ${tapper.pod} on ${s.node} refused the stream: ${err.message}`));
        return;
      }
    }
    // A tapper that stopped being ready delivered until its stream ended: the gap starts there.
    if (s.gapTentative && s.tapper === tapper) {
      s.gapSince = performance.now();
      s.gapTentative = false;
    }
    if (this.stopped || s.tapper !== tapper) return;
    // Lost: the gap starts now (or went on from an earlier loss), and we try again.
    s.connected = false;
    clearTimeout(s.silence);
    if (s.gapSince === undefined) this.lost(s, 'the stream ended');
    s.retry = setTimeout(() => void this.connect(s), s.backoffMs);
    s.backoffMs = Math.min(s.backoffMs * 2, MAX_BACKOFF_MS);
  }

  private lost(s: NodeStream, why: string): void {
    s.gapSince = performance.now();
    this.opts.onNotice(`node ${s.node}: stream lost (${why}); reconnecting`);
  }

  private watchSilence(s: NodeStream): void {
    clearTimeout(s.silence);
    if (this.paused) return;
    s.silence = setTimeout(() => s.res?.destroy(), SILENCE_LIMIT_MS);
  }

  private line(line: string): void {
    const obj = parseStreamLine(line, this.figures);
    if (obj === null) return;
    this.figures.entries += 1;
    this.opts.onEntry(obj);
  }

  /** Loss events so far (the sink's --strict counts them): entries dropped, gaps. */
  lossEvents(): number {
    return this.figures.dropped + this.figures.gaps.length + this.openGaps().length;
  }

  /** Counters for the run summary, named as the sink's loss rules expect. */
  stats(): Record<string, number> {
    const gaps = [...this.figures.gaps, ...this.openGaps()];
    return {
      'stream.dropped': this.figures.dropped,
      'stream.gaps': gaps.length,
      'stream.gapMilliseconds': Math.round(gaps.reduce((sum, g) => sum + g.seconds * 1000, 0)),
      'stream.malformedLines': this.figures.malformedLines,
    };
  }

  /** Nodes whose stream is down right now, with how long (for the end-of-run figures). */
  openGaps(): { node: string; seconds: number }[] {
    const now = performance.now();
    return [...this.nodes.values()].filter((s) => s.gapSince !== undefined).map((s) => ({ node: s.node, seconds: (now - s.gapSince!) / 1000 }));
  }

  /** Ends every stream; with forgetTargets, tells the tappers (a pre-installed stack stays). */
  async stop(forgetTargets: boolean): Promise<void> {
    this.stopped = true;
    for (const s of this.nodes.values()) {
      clearTimeout(s.retry);
      clearTimeout(s.silence);
      s.res?.destroy();
    }
    if (!forgetTargets) return;
    await Promise.all(
      [...this.nodes.values()].map((s) =>
        this.client.json('DELETE', this.proxyPath(s.tapper.pod, '/targets'), { query: { session: this.opts.session }, headers: { 'X-Tap-Token': this.opts.token }, timeoutMs: 5000 }).catch(() => undefined),
      ),
    );
  }
}
