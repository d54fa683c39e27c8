// Queries waiting for their response on one flow or connection, keyed by DNS id. The
// engine's flow is already the (client endpoint, server endpoint) pair, so id alone pairs.
// Bounded: beyond the cap the oldest query is emitted without a response and counted.
// Each waiting query is charged to the memory budget ('dns.pending'); when the budget wants
// room, the oldest queries go first (emitted without a response, counted as shed): a query
// unanswered longest is the least likely to be answered.
import type { Call } from '../../entry.js';
import type { MemoryAccount } from '../../memory/budget.js';
import type { StreamContext } from '../types.js';
import { dnsCall, type PendingQuery } from './calls.js';
import type { DnsMessage } from './message.js';

const maxPending = 256;

/**
 * Memory a waiting query costs: its parsed message (question objects and name strings),
 * the PendingQuery and its Map entry, plus twice its wire size for the names and records
 * decoded from it. Measured with scripts/measure-memory-costs.ts.
 */
export function queryCost(size: number): number {
  return 400 + 2 * size;
}

export class PendingQueries {
  private readonly byId = new Map<number, PendingQuery>();
  private readonly account: MemoryAccount;

  constructor(
    private readonly ctx: StreamContext,
    private readonly transport: 'udp' | 'tcp',
  ) {
    this.account = ctx.memory.account('dns.pending', (want) => this.shed(want));
  }

  query(query: DnsMessage, tsMicros: number, size: number): void {
    const existing = this.byId.get(query.id);
    if (existing) {
      // A retransmitted query (same id, same question) is the same call; anything else replaces it.
      if (existing.query.questions[0]?.name === query.questions[0]?.name) return;
      this.forget(query.id, existing);
      this.emit(dnsCall(this.transport, existing, null, null, 0), 'no response');
    }
    if (this.byId.size >= maxPending) {
      this.ctx.stats.add('dns.pendingDropped');
      this.giveUpOldest();
    }
    while (!this.account.charge(queryCost(size))) {
      // This flow is where the budget wants room from: its oldest query goes, or this one.
      if (this.byId.size === 0) {
        this.ctx.stats.add('dns.queriesDropped.overBudget');
        return;
      }
      this.ctx.stats.add('dns.pendingShed');
      this.giveUpOldest();
    }
    this.byId.set(query.id, { query, startMicros: tsMicros, size });
  }

  response(response: DnsMessage, tsMicros: number, size: number): void {
    const q = this.byId.get(response.id);
    if (!q) {
      this.ctx.stats.add('dns.unmatchedResponse');
      return;
    }
    this.forget(response.id, q);
    this.ctx.emit(dnsCall(this.transport, q, response, tsMicros, size));
  }

  get isEmpty(): boolean {
    return this.byId.size === 0;
  }

  markIncomplete(): void {
    for (const q of this.byId.values()) q.incomplete = true;
  }

  end(): void {
    for (const q of this.byId.values()) this.emit(dnsCall(this.transport, q, null, null, 0), 'no response');
    this.byId.clear();
    this.account.close();
  }

  /** The budget wants about `want` bytes back: the oldest queries are emitted without a response. */
  private shed(want: number): void {
    const target = this.account.bytes - want;
    while (this.byId.size > 0 && this.account.bytes > target) {
      this.ctx.stats.add('dns.pendingShed');
      this.giveUpOldest();
    }
  }

  private giveUpOldest(): void {
    const [oldId, old] = this.byId.entries().next().value as [number, PendingQuery];
    this.forget(oldId, old);
    this.emit(dnsCall(this.transport, old, null, null, 0), 'no response');
  }

  private forget(id: number, q: PendingQuery): void {
    this.byId.delete(id);
    this.account.release(queryCost(q.size));
  }

  private emit(call: Call, error: string): void {
    call.error = error;
    this.ctx.emit(call);
  }
}
