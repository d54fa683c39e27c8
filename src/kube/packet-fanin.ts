// The packets' fan-in, for `kubectl tap --pcap-out`: one streaming GET /packets per ready
// tapper through the API server's pods proxy, beside the entries' fan-in (fanin.ts). Each
// tapper sends the packets of the calls it reports to this session (docs/tapper-api.md,
// "The packet stream"); the sink (src/sink/pcap-out.ts) writes a node's packets once one of
// the session's entries from that node reports their connection. A stream that breaks or
// goes silent is reconnected with backoff, and counted: its packets in the gap are lost.
import type { IncomingMessage } from 'node:http';
import type { StreamedPacket } from '../sink/pcap-out.js';
import type { KubeClient } from './client.js';
import { ApiError } from './errors.js';
import { readLines } from './informer.js';
import { TAPPER_PORT } from './labels.js';
import type { ReadyTapper } from './tapper-watch.js';
import { parseStreamLine } from './stream-line.js';

const SILENCE_LIMIT_MS = 45_000;
const MAX_BACKOFF_MS = 10_000;
/** At the end, packets of calls already reported may still be on their way: this long at most. */
const DRAIN_MS = 1500;
/** ... and no longer than this after the last one came. */
const DRAIN_QUIET_MS = 300;

export interface PacketFanInOptions {
  namespace: string;
  token: string;
  session: string;
  onPacket(node: string, packet: StreamedPacket): void;
  onFatal(err: Error): void;
}

interface PacketNode {
  node: string;
  tapper: ReadyTapper;
  res?: IncomingMessage;
  everConnected: boolean;
  backoffMs: number;
  retry?: NodeJS.Timeout;
  silence?: NodeJS.Timeout;
}

export class PacketFanIn {
  private readonly nodes = new Map<string, PacketNode>();
  private stopped = false;
  private lastPacketMs = 0;
  readonly figures = { packets: 0, dropped: 0, gaps: 0, malformedLines: 0 };

  constructor(
    private readonly client: KubeClient,
    private readonly opts: PacketFanInOptions,
  ) {}

  /** The tappers ready now: connects new ones, moves a node to its replacement tapper. */
  setTappers(ready: ReadyTapper[]): void {
    if (this.stopped) return;
    for (const tapper of ready) {
      const known = this.nodes.get(tapper.node);
      if (!known) {
        const stream: PacketNode = { node: tapper.node, tapper, everConnected: false, backoffMs: 500 };
        this.nodes.set(tapper.node, stream);
        void this.connect(stream);
      } else if (known.tapper.uid !== tapper.uid) {
        known.tapper = tapper;
        known.res?.destroy();
        clearTimeout(known.retry);
        known.backoffMs = 500;
        void this.connect(known);
      }
    }
  }

  private async connect(s: PacketNode): Promise<void> {
    if (this.stopped) return;
    const tapper = s.tapper;
    try {
      const res = await this.client.stream(`/api/v1/namespaces/${this.opts.namespace}/pods/https:${tapper.pod}:${TAPPER_PORT}/proxy/packets`, {
        query: { session: this.opts.session },
        headers: { 'X-Tap-Token': this.opts.token, Accept: 'application/x-ndjson' },
      });
      if (this.stopped || s.tapper !== tapper) {
        res.destroy();
        return;
      }
      if (s.everConnected) this.figures.gaps += 1;
      s.res = res;
      s.everConnected = true;
      s.backoffMs = 500;
      this.watchSilence(s);
      await readLines(res, (line) => {
        this.watchSilence(s);
        this.line(s.node, line);
      });
    } catch (err) {
      if (err instanceof ApiError && (err.code === 400 || err.code === 401 || err.code === 403)) {
        this.opts.onFatal(new Error(`tapper ${tapper.pod} on ${s.node} refused the packet stream: ${err.message}`));
        return;
      }
    }
    if (this.stopped || s.tapper !== tapper) return;
    clearTimeout(s.silence);
    s.retry = setTimeout(() => void this.connect(s), s.backoffMs);
    s.backoffMs = Math.min(s.backoffMs * 2, MAX_BACKOFF_MS);
  }

  private watchSilence(s: PacketNode): void {
    clearTimeout(s.silence);
    s.silence = setTimeout(() => s.res?.destroy(), SILENCE_LIMIT_MS);
  }

  private line(node: string, line: string): void {
    const obj = parseStreamLine(line, this.figures);
    if (obj === null) return;
    const { flow, ts, linkType, length, data, closing } = obj;
    if (typeof flow !== 'string' || typeof ts !== 'number' || typeof linkType !== 'number' || typeof length !== 'number' || typeof data !== 'string') {
      this.figures.malformedLines += 1;
      return;
    }
    this.figures.packets += 1;
    this.lastPacketMs = performance.now();
    this.opts.onPacket(node, { flow, closing: closing === true, tsMicros: ts, linkType, data: Buffer.from(data, 'base64'), originalLength: length });
  }

  /** Counters for the run summary (stream.droppedPackets and packetStream.gaps are losses). */
  stats(): Record<string, number> {
    return {
      'stream.packets': this.figures.packets,
      'stream.droppedPackets': this.figures.dropped,
      'packetStream.gaps': this.figures.gaps,
      'packetStream.malformedLines': this.figures.malformedLines,
    };
  }

  /**
   * Ends every stream, after giving the packets of calls already reported a moment to come
   * (the entries' streams are stopped first: the session's last entries are in).
   */
  async stop(): Promise<void> {
    const deadline = performance.now() + DRAIN_MS;
    while (!this.stopped && performance.now() < deadline && performance.now() - this.lastPacketMs < DRAIN_QUIET_MS) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.stopped = true;
    for (const s of this.nodes.values()) {
      clearTimeout(s.retry);
      clearTimeout(s.silence);
      s.res?.destroy();
    }
  }
}
