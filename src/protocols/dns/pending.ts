// Queries waiting for their response on one flow or connection, keyed by DNS id. The
// engine's flow is already the (client endpoint, server endpoint) pair, so id alone pairs.
// Bounded: beyond the cap the oldest query is emitted without a response and counted.
import type { Call } from '../../entry.js';
import type { StreamContext } from '../types.js';
import { dnsCall, type PendingQuery } from './calls.js';
import type { DnsMessage } from './message.js';

const maxPending = 256;

export class PendingQueries {
  private readonly byId = new Map<number, PendingQuery>();

  constructor(
    private readonly ctx: StreamContext,
    private readonly transport: 'udp' | 'tcp',
  ) {}

  query(query: DnsMessage, tsMicros: number, size: number): void {
    const existing = this.byId.get(query.id);
    if (existing) {
      // A retransmitted query (same id, same question) is the same call; anything else replaces it.
      if (existing.query.questions[0]?.name === query.questions[0]?.name) return;
      this.byId.delete(query.id);
      this.emit(dnsCall(this.transport, existing, null, null, 0), 'no response');
    }
    if (this.byId.size >= maxPending) {
      const [oldId, old] = this.byId.entries().next().value as [number, PendingQuery];
      this.byId.delete(oldId);
      this.ctx.stats.add('dns.pendingDropped');
      this.emit(dnsCall(this.transport, old, null, null, 0), 'no response');
    }
    this.byId.set(query.id, { query, startMicros: tsMicros, size });
  }

  response(response: DnsMessage, tsMicros: number, size: number): void {
    const q = this.byId.get(response.id);
    if (!q) {
      this.ctx.stats.add('dns.unmatchedResponse');
      return;
    }
    this.byId.delete(response.id);
    this.ctx.emit(dnsCall(this.transport, q, response, tsMicros, size));
  }

  markIncomplete(): void {
    for (const q of this.byId.values()) q.incomplete = true;
  }

  end(): void {
    for (const q of this.byId.values()) this.emit(dnsCall(this.transport, q, null, null, 0), 'no response');
    this.byId.clear();
  }

  private emit(call: Call, error: string): void {
    call.error = error;
    this.ctx.emit(call);
  }
}
