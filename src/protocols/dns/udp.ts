// DNS over UDP: one datagram, one message. The flow's first datagram must be a client query.
import type { DatagramParser, Dir, StreamContext, UdpDissector } from '../types.js';
import { isClientQuery, parseDnsMessage } from './message.js';
import { PendingQueries } from './pending.js';

class DnsUdpParser implements DatagramParser {
  private readonly pending: PendingQueries;

  constructor(private readonly ctx: StreamContext) {
    this.pending = new PendingQueries(ctx, 'udp');
  }

  onDatagram(dir: Dir, payload: Buffer, tsMicros: number): void {
    const m = parseDnsMessage(payload);
    if (!m) {
      this.ctx.stats.add('dns.malformed');
      return;
    }
    if (!m.isResponse && dir === 0) this.pending.query(m, tsMicros, payload.length);
    else if (m.isResponse && dir === 1) this.pending.response(m, tsMicros, payload.length);
    else this.ctx.stats.add('dns.unexpectedDirection');
  }

  /** Every query answered: UdpFlows ends this parser now (a client's socket is mostly one lookup). */
  get settled(): boolean {
    return this.pending.isEmpty;
  }

  onEnd(_tsMicros: number): void {
    this.pending.end();
  }
}

export const dnsUdpDissector: UdpDissector = {
  name: 'dns',
  detect(payload) {
    const m = parseDnsMessage(payload);
    return m !== null && isClientQuery(m);
  },
  create: (ctx) => new DnsUdpParser(ctx),
};
