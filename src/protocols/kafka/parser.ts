// One Kafka connection: frames each direction by its size prefix, decodes requests and
// responses, and pairs them by correlation id (the broker answers in order, so a response
// also settles every older request still waiting: Produce with acks=0 gets none).
import type { Call } from '../../entry.js';
import type { Dir, StreamContext, StreamParser } from '../types.js';
import { ApiKey, isFlexible, responseHeaderHasTags } from './apis.js';
import type { MemoryAccount } from '../../memory/budget.js';
import { ByteQueue } from '../byte-queue.js';
import { findRequestBoundary } from './detect.js';
import { apiName, requestHeaderAt } from './header.js';
import { KafkaDecodeError, KafkaReader } from './reader.js';
import type { RecordBudget } from './records.js';
import { decodeRequestBody, type Fields } from './requests.js';
import { decodeResponseBody } from './responses.js';

/** Frames up to this size are buffered and decoded; larger ones are skipped after their header. */
const maxBufferedFrame = 8 * 1024 * 1024;
/** Requests waiting for their response; beyond it the oldest is emitted without one. */
const maxPending = 1024;
/** Bytes kept while looking for a frame start after a gap. */
const maxResyncBuffer = 64 * 1024;

interface Pending {
  apiKey: number;
  apiVersion: number;
  startMicros: number;
  request: Fields;
  incomplete: boolean;
  /** Bytes charged to the memory budget while it waits. */
  cost: number;
}

/** Fixed cost of a pending request besides its decoded fields (estimated as twice its frame). */
const PENDING_COST = 512;

/** Requests waiting for a response; whichever way one leaves, its charge is given back. */
class PendingRequests extends Map<number, Pending> {
  constructor(private readonly account: MemoryAccount) {
    super();
  }

  override delete(id: number): boolean {
    const p = this.get(id);
    if (p !== undefined) this.account.release(p.cost);
    return super.delete(id);
  }
}

interface Direction {
  queue: ByteQueue;
  synced: boolean;
  /** Bytes of an oversized frame still to skip. */
  skip: number;
}

export class KafkaParser implements StreamParser {
  private readonly dirs: [Direction, Direction];
  private readonly pending: PendingRequests;
  private readonly pendingMemory: MemoryAccount;
  /** Unfinished frames of both directions, charged to the memory budget. */
  private readonly buffers: MemoryAccount;
  /** Inside onData: buffers in use are not shed (the budget moves on). */
  private busy = false;

  constructor(private readonly ctx: StreamContext) {
    const synced = !ctx.midstream;
    this.pendingMemory = ctx.memory.account('app.pending', (want) => this.shedOldest(want));
    this.pending = new PendingRequests(this.pendingMemory);
    this.buffers = ctx.memory.account('app.buffers', () => this.shedBuffer());
    this.dirs = [
      { queue: new ByteQueue(this.buffers), synced, skip: 0 },
      { queue: new ByteQueue(this.buffers), synced, skip: 0 },
    ];
  }

  onData(dir: Dir, data: Buffer, tsMicros: number): void {
    const d = this.dirs[dir];
    if (d.skip > 0) {
      const n = Math.min(d.skip, data.length);
      d.skip -= n;
      data = data.subarray(n);
    }
    if (!d.queue.push(data)) {
      // The budget refused room for this frame: it is lost, as to a gap.
      this.ctx.stats.add('kafka.bytesDropped.memoryBudget', d.queue.length + data.length);
      this.onGap(dir, data.length, tsMicros);
      return;
    }
    this.busy = true;
    try {
      this.drain(dir, tsMicros);
    } catch (err) {
      // A bug must not take the engine down: count it and resynchronise.
      this.ctx.stats.add('kafka.internalError');
      d.queue.clear();
      d.synced = false;
      void err;
    } finally {
      this.busy = false;
    }
  }

  /** The budget wants buffer bytes back: the direction holding more drops its unfinished frame. */
  private shedBuffer(): void {
    if (this.busy) return;
    const dir: Dir = this.dirs[0].queue.length >= this.dirs[1].queue.length ? 0 : 1;
    this.ctx.stats.add('kafka.bytesShed.memoryBudget', this.dirs[dir].queue.length);
    this.onGap(dir, 0, 0);
  }

  /** The budget wants pending bytes back: the oldest requests go out without their responses. */
  private shedOldest(want: number): void {
    let freed = 0;
    for (const [id, p] of this.pending) {
      if (freed >= want) break;
      freed += p.cost;
      this.pending.delete(id);
      this.ctx.stats.add('kafka.requestsShed.memoryBudget');
      this.emit(p, null, null, 'given up waiting for the response: memory budget', p.incomplete);
    }
  }

  onGap(dir: Dir, missing: number, _tsMicros: number): void {
    const d = this.dirs[dir];
    this.ctx.stats.add('kafka.gaps');
    if (d.skip > 0 && missing <= d.skip) {
      d.skip -= missing; // the gap fell inside a frame we were skipping anyway
      return;
    }
    d.queue.clear();
    d.skip = 0;
    d.synced = false;
    if (dir === 0) for (const p of this.pending.values()) p.incomplete = true;
  }

  onEnd(tsMicros: number): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      this.emit(p, null, null, 'connection ended before the response', p.incomplete);
    }
    this.dirs[0].queue.clear();
    this.dirs[1].queue.clear();
    this.pendingMemory.close();
    this.buffers.close();
    void tsMicros;
  }

  private drain(dir: Dir, tsMicros: number): void {
    const d = this.dirs[dir];
    while (d.skip === 0) {
      if (!d.synced && !this.resync(dir)) return;
      if (d.queue.length < 4) return;
      const size = d.queue.peek(4).readInt32BE(0);
      if (size < 4 || size > 0x7fffffff - 4) {
        this.ctx.stats.add('kafka.badFrameSize');
        d.queue.clear();
        d.synced = false;
        return;
      }
      const total = 4 + size;
      if (size > maxBufferedFrame) {
        // Decode what the header says from the bytes we have, then skip the rest.
        if (d.queue.length < Math.min(total, 4096)) return;
        const head = d.queue.peek(Math.min(total, 4096, d.queue.length));
        this.ctx.stats.add('kafka.frameTooLarge');
        this.frame(dir, head, tsMicros, true);
        const have = d.queue.length;
        d.queue.clear();
        d.skip = total - have;
        return;
      }
      if (d.queue.length < total) return;
      const frame = d.queue.peek(total);
      this.frame(dir, frame, tsMicros, false);
      d.queue.consume(total);
    }
  }

  /** Find a frame start in an unsynchronised direction; false when it needs more bytes. */
  private resync(dir: Dir): boolean {
    const d = this.dirs[dir];
    if (d.queue.length < 14) return false;
    const buf = d.queue.peek(Math.min(d.queue.length, maxResyncBuffer));
    let at = -1;
    if (dir === 0) at = findRequestBoundary(buf);
    else {
      for (let off = 0; off + 8 <= buf.length && off < 4096; off++) {
        const size = buf.readInt32BE(off);
        if (size >= 4 && size <= maxBufferedFrame * 16 && this.pending.has(buf.readInt32BE(off + 4))) {
          at = off;
          break;
        }
      }
    }
    if (at < 0) {
      if (d.queue.length > maxResyncBuffer) {
        this.ctx.stats.add('kafka.resyncBytesDropped', d.queue.length - 64);
        d.queue.consume(d.queue.length - 64);
      }
      return false;
    }
    if (at > 0) this.ctx.stats.add('kafka.resyncBytesDropped', at);
    d.queue.consume(at);
    d.synced = true;
    return true;
  }

  private frame(dir: Dir, frame: Buffer, tsMicros: number, truncated: boolean): void {
    if (dir === 0) this.onRequest(frame, tsMicros, truncated);
    else this.onResponse(frame, tsMicros, truncated);
  }

  private budget(): RecordBudget {
    return { left: this.ctx.options.maxMessages, maxBody: this.ctx.options.maxBody, dropped: 0, inflateTooLarge: 0 };
  }

  private countBudget(b: RecordBudget): void {
    if (b.dropped > 0) this.ctx.stats.add('kafka.recordsDropped', b.dropped);
    if (b.inflateTooLarge > 0) this.ctx.stats.add('kafka.inflateTooLarge', b.inflateTooLarge);
  }

  private onRequest(frame: Buffer, tsMicros: number, truncated: boolean): void {
    const h = requestHeaderAt(frame, 0);
    if (h === null || h === 'more') {
      this.ctx.stats.add('kafka.malformedRequest');
      this.dirs[0].synced = false;
      return;
    }
    const request: Fields = {
      apiKey: apiName(h.apiKey),
      apiKeyCode: h.apiKey,
      apiVersion: h.apiVersion,
      correlationId: h.correlationId,
      clientId: h.clientId,
      size: h.size + 4,
    };
    if (!truncated) {
      const budget = this.budget();
      try {
        Object.assign(request, decodeRequestBody(h.apiKey, h.apiVersion, h.flexible, new KafkaReader(frame, h.headerLength), budget));
      } catch (err) {
        if (!(err instanceof KafkaDecodeError)) throw err;
        this.ctx.stats.add('kafka.malformedRequest');
        request.malformed = true;
      }
      this.countBudget(budget);
    } else request.bodySkipped = true;
    const p: Pending = { apiKey: h.apiKey, apiVersion: h.apiVersion, startMicros: tsMicros, request, incomplete: false, cost: PENDING_COST + 2 * frame.length };
    if (h.apiKey === ApiKey.Produce && request.acks === 0) {
      this.emit(p, null, null); // acks=0: the broker never answers
      return;
    }
    if (this.pending.size >= maxPending) {
      const [oldId, old] = this.pending.entries().next().value as [number, Pending];
      this.pending.delete(oldId);
      this.ctx.stats.add('kafka.pendingDropped');
      this.emit(old, null, null, 'no response (too many requests waiting)', old.incomplete);
    }
    this.pending.delete(h.correlationId); // a reused id replaces, never duplicates
    if (!this.pendingMemory.charge(p.cost)) {
      this.shedOldest(Number.MAX_SAFE_INTEGER);
      if (!this.pendingMemory.charge(p.cost)) {
        this.ctx.stats.add('kafka.requestsShed.memoryBudget');
        this.emit(p, null, null, 'given up waiting for the response: memory budget', p.incomplete);
        return;
      }
    }
    this.pending.set(h.correlationId, p);
  }

  private onResponse(frame: Buffer, tsMicros: number, truncated: boolean): void {
    const correlationId = frame.readInt32BE(4);
    const p = this.pending.get(correlationId);
    if (!p) {
      this.ctx.stats.add('kafka.unmatchedResponse');
      return;
    }
    // Responses come in request order: older requests still waiting will get none.
    for (const [id, older] of this.pending) {
      if (id === correlationId) break;
      this.pending.delete(id);
      this.emit(older, null, null, 'no response', true);
    }
    this.pending.delete(correlationId);
    const response: Fields = { correlationId, size: frame.readInt32BE(0) + 4 };
    if (!truncated) {
      const budget = this.budget();
      try {
        const r = new KafkaReader(frame, 8);
        r.taggedFields(responseHeaderHasTags(p.apiKey, p.apiVersion));
        // ApiVersions keeps header v0 but its body is flexible from v3, like every other API.
        Object.assign(response, decodeResponseBody(p.apiKey, p.apiVersion, isFlexible(p.apiKey, p.apiVersion), r, budget));
      } catch (err) {
        if (!(err instanceof KafkaDecodeError)) throw err;
        this.ctx.stats.add('kafka.malformedResponse');
        response.malformed = true;
      }
      this.countBudget(budget);
    } else response.bodySkipped = true;
    this.emit(p, response, tsMicros, undefined, p.incomplete);
  }

  private emit(p: Pending, response: Fields | null, endMicros: number | null, error?: string, incomplete = false): void {
    const call: Call = {
      protocol: 'kafka',
      startMicros: p.startMicros,
      endMicros,
      request: p.request,
      response,
      summary: summarize(p.request, response),
    };
    if (error !== undefined && !(p.apiKey === ApiKey.Produce && p.request.acks === 0)) call.error = error;
    if (incomplete) call.incomplete = true;
    // Let go of the request: a pending request is kept alive by dead tables of the pending
    // Map (see releaseHalf in http2/stream.ts) and dragged its decoded records into the old
    // generation with it.
    p.request = EMITTED;
    this.ctx.emit(call);
  }
}

/** What a pending request's fields become once it was emitted. */
const EMITTED: Fields = Object.freeze({});

function summarize(request: Fields, response: Fields | null): string {
  let s = `${request.apiKey} v${request.apiVersion}`;
  const topics = Array.isArray(request.topics) ? request.topics.filter((t) => typeof t === 'string') : [];
  if (topics.length > 0) s += ` ${topics.slice(0, 3).join(',')}${topics.length > 3 ? `,+${topics.length - 3}` : ''}`;
  const group = typeof request.groupId === 'string' ? request.groupId : request.keyType !== 'transaction' && typeof request.key === 'string' ? request.key : null;
  if (group !== null) s += ` (group ${group})`;
  if (request.apiKey === 'Produce' && Array.isArray(request.partitions)) {
    const n = request.partitions.reduce((sum: number, p: Fields) => sum + (Number(p.recordCount) || 0), 0);
    s += ` (${n} record${n === 1 ? '' : 's'})`;
  }
  if (response === null) return s;
  const failed = firstError(response);
  if (failed) s += ` -> ${failed.error ?? `error ${failed.errorCode}`}`;
  else if (request.apiKey === 'Fetch' && Array.isArray(response.partitions)) {
    const n = response.partitions.reduce((sum: number, p: Fields) => sum + (Number(p.recordCount) || 0), 0);
    s += ` -> ${n} record${n === 1 ? '' : 's'}`;
  }
  return s;
}

/** The response's own error, else the first failed partition, topic, member, group or coordinator. */
function firstError(response: Fields): Fields | undefined {
  if (typeof response.errorCode === 'number' && response.errorCode !== 0) return response;
  for (const list of [response.partitions, response.topics, response.members, response.groups, response.coordinators]) {
    if (!Array.isArray(list)) continue;
    const bad = list.find((x: unknown) => typeof x === 'object' && x !== null && typeof (x as Fields).errorCode === 'number' && (x as Fields).errorCode !== 0);
    if (bad) return bad as Fields;
  }
  return undefined;
}
