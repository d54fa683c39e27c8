// DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message has a two-byte length prefix; a
// connection may carry many queries, answered in any order, paired by id.
import { ByteQueue } from '../byte-queue.js';
import type { Dir, Probe, StreamContext, StreamParser, TcpDissector, Verdict } from '../types.js';
import { isClientQuery, parseDnsMessage } from './message.js';
import { PendingQueries } from './pending.js';

/** Offsets tried when looking for a message start after a gap. */
const resyncScan = 512;

class DnsTcpParser implements StreamParser {
  private readonly queues: [ByteQueue, ByteQueue] = [new ByteQueue(), new ByteQueue()];
  private readonly synced: [boolean, boolean];
  private readonly pending: PendingQueries;

  constructor(private readonly ctx: StreamContext) {
    this.pending = new PendingQueries(ctx, 'tcp');
    this.synced = [!ctx.midstream, !ctx.midstream];
  }

  onData(dir: Dir, data: Buffer, tsMicros: number): void {
    const q = this.queues[dir];
    q.push(data);
    while (q.length >= 2) {
      if (!this.synced[dir] && !this.resync(dir)) return;
      const len = q.peek(2).readUInt16BE(0);
      if (q.length < 2 + len) return; // at most 64 KiB: the prefix bounds it
      const m = parseDnsMessage(q.peek(2 + len).subarray(2));
      q.consume(2 + len);
      if (!m) {
        this.ctx.stats.add('dns.malformed');
        continue;
      }
      if (dir === 0 && !m.isResponse) this.pending.query(m, tsMicros, len);
      else if (dir === 1 && m.isResponse) this.pending.response(m, tsMicros, len);
      else this.ctx.stats.add('dns.unexpectedDirection');
    }
  }

  onGap(dir: Dir, _missing: number, _tsMicros: number): void {
    this.ctx.stats.add('dns.gaps');
    this.queues[dir].clear();
    this.synced[dir] = false;
    this.pending.markIncomplete();
  }

  onEnd(_tsMicros: number): void {
    this.pending.end();
  }

  private resync(dir: Dir): boolean {
    const q = this.queues[dir];
    const buf = q.peek(q.length);
    for (let off = 0; off + 14 <= buf.length && off < resyncScan; off++) {
      const len = buf.readUInt16BE(off);
      if (len < 12 || off + 2 + len > buf.length) continue;
      if (parseDnsMessage(buf.subarray(off + 2, off + 2 + len))) {
        q.consume(off);
        this.synced[dir] = true;
        return true;
      }
    }
    if (q.length > resyncScan + 0x10000) {
      this.ctx.stats.add('dns.resyncBytesDropped', resyncScan);
      q.consume(resyncScan);
    }
    return false;
  }
}

/** Largest first query we believe (EDNS payloads are offered up to 4096, queries stay far below). */
const maxQueryLength = 4096;

function detectDnsTcp(probe: Probe): Verdict {
  const c = probe.client;
  if (c.length < 2) return probe.server.length > 0 ? 'no' : 'more';
  const len = c.readUInt16BE(0);
  // A query is one small message (a question, maybe an OPT record); refusing absurd lengths
  // at once keeps text protocols (whose first two letters read as a big length) from waiting.
  if (len < 17 || len > maxQueryLength) return 'no';
  if (c.length >= 4 && c.readUInt16BE(2) === 0) return 'no'; // id 0 is not a client's
  if (c.length >= 5 && (c[4] & 0x80) !== 0) return 'no'; // a response first
  if (c.length < 2 + len) return c.length >= 12 + 2 && probe.server.length > 0 ? 'no' : 'more';
  const m = parseDnsMessage(c.subarray(2, 2 + len));
  return m !== null && isClientQuery(m) ? 'yes' : 'no';
}

export const dnsTcpDissector: TcpDissector = {
  name: 'dns-tcp',
  detect: detectDnsTcp,
  create: (ctx) => new DnsTcpParser(ctx),
};
