// One AMQP 0-9-1 connection: frames from both directions become Calls. Synchronous methods
// are paired with their replies per channel (queue.declare with declare-ok, basic.get with
// get-ok/get-empty, connection.start with start-ok...); basic.publish, basic.deliver and
// basic.return are Calls of their own once their content header and body frames are in;
// on a confirm channel a publish waits for the broker's basic.ack/nack. channel.close and
// connection.close end the calls they interrupt with the reply code and text.

import type { Call } from '../../entry.js';
import type { MemoryAccount } from '../../memory/budget.js';
import { BodyCollector } from '../body-collector.js';
import { KeptBytes } from '../kept-bytes.js';
import type { Dir, StreamContext, StreamParser } from '../types.js';
import { AmqpError, decodeArgs, decodeContentHeader } from './codec.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, type Frame, FrameReader } from './frames.js';
import { type MethodSpec, methodById, methodName } from './spec.js';

/** Channels tracked per connection (RabbitMQ's default channel_max is 2047). */
export const MAX_CHANNELS = 2048;
/** Synchronous requests awaiting a reply, per channel and side. */
export const MAX_PENDING = 256;
/** Confirmed-mode publishes awaiting basic.ack/nack, per channel. */
export const MAX_UNCONFIRMED = 1024;

const REDACTED = '[redacted]';

/**
 * Fixed cost of one call waiting on its reply or confirm, besides its record's strings: the
 * Call and record objects, the array slot and the set entry that keeps the age order.
 */
const WAITING_COST = 512;

/** A call held until its reply or confirm comes: charged to the memory budget as 'app.pending'. */
interface Waiting {
  call: Call;
  /** Bytes charged for it. */
  cost: number;
  /** Where it is queued, so that shedding (oldest first, across channels) can take it out. */
  list: Waiting[];
}

interface Pending extends Waiting {
  spec: MethodSpec;
  /** basic.get-ok's content is still arriving: the call completes with its last body frame. */
  awaitingContent?: boolean;
}

interface Content {
  /** Where properties and body go: the request of a publish/deliver, the response of a get. */
  record: Record<string, unknown>;
  call: Call;
  bodySize: number;
  received: number;
  /** The body's first --max-body bytes, charged to the memory budget. */
  body: BodyCollector;
  headerSeen: boolean;
  done: (ts: number) => void;
}

interface Channel {
  /** Requests sent by each side, waiting for the other side's reply. */
  pending: [Pending[], Pending[]];
  content: [Content | null, Content | null];
  confirms: boolean;
  publishSeq: number;
  unconfirmed: Unconfirmed[];
}

interface Unconfirmed extends Waiting {
  seq: number;
}

export class AmqpSession implements StreamParser {
  private readonly readers: [FrameReader, FrameReader];
  private readonly channels = new Map<number, Channel>();
  private ts = 0;
  /** Content bodies being collected, charged to the memory budget (largest shed first). */
  private readonly bodies: KeptBytes;
  /** Unfinished frames of both directions, charged to the memory budget. */
  private readonly buffers: MemoryAccount;
  private busy = false;
  /** Every call waiting on a reply or confirm, oldest first (insertion order), for shedding. */
  private readonly waiting = new Set<Waiting>();
  private readonly waitingMemory: MemoryAccount;

  constructor(private readonly ctx: StreamContext) {
    this.bodies = new KeptBytes(ctx.memory);
    this.waitingMemory = ctx.memory.account('app.pending', (want) => this.shedOldest(want));
    this.buffers = ctx.memory.account('app.buffers', () => {
      // The budget wants the bytes back: the larger unfinished frame is dropped, as to a gap.
      if (this.busy) return;
      const reader = this.readers[0].buffered >= this.readers[1].buffered ? this.readers[0] : this.readers[1];
      ctx.stats.add('amqp.bytesShed.memoryBudget', reader.buffered);
      reader.lose();
    });
    this.readers = [0, 1].map((d) => new FrameReader({
      onProtocolHeader: (h) => this.onProtocolHeader(d as Dir, h),
      onFrame: (f) => this.onFrame(d as Dir, f),
      onMalformed: () => ctx.stats.add('amqp.malformedFrames'),
    }, ctx.midstream, this.buffers, () => ctx.stats.add('amqp.bytesDropped.memoryBudget'))) as [FrameReader, FrameReader];
  }

  onData(dir: Dir, data: Buffer, tsMicros: number): void {
    this.ts = tsMicros;
    this.busy = true;
    try {
      this.readers[dir].push(data);
    } catch {
      // Only a bug gets here: keep the engine alive, count it, resync this side.
      this.ctx.stats.add('amqp.internalError');
      this.readers[dir].lose();
    } finally {
      this.busy = false;
    }
  }

  onGap(dir: Dir, _missing: number, tsMicros: number): void {
    this.ctx.stats.add('amqp.gaps');
    this.readers[dir].lose();
    for (const ch of this.channels.values()) {
      // Content that was arriving from this side lost part of its body.
      this.cutContent(ch, dir, tsMicros);
      // A reply from this side may be lost too.
      for (const p of ch.pending[dir === 0 ? 1 : 0]) p.call.incomplete = true;
    }
  }

  onEnd(tsMicros: number): void {
    for (const ch of this.channels.values()) this.closeChannel(ch, tsMicros, 'connection closed before the reply', null);
    this.channels.clear();
    this.readers[0].lose();
    this.readers[1].lose();
    this.bodies.close();
    this.buffers.close();
    this.waitingMemory.close();
  }

  /** Queues a call to wait for its reply or confirm, charged to the budget; false if given up. */
  private hold(w: Pending | Unconfirmed): boolean {
    if (!this.waitingMemory.charge(w.cost)) {
      // The budget refused: this connection's own oldest go first, then this one if need be.
      this.shedOldest(w.cost);
      if (!this.waitingMemory.charge(w.cost)) {
        this.giveUp(w);
        return false;
      }
    }
    w.list.push(w);
    this.waiting.add(w);
    return true;
  }

  /** A waiting call taken off its list (reply, confirm, close): its bytes go back. */
  private unhold(w: Waiting): void {
    if (this.waiting.delete(w)) this.waitingMemory.release(w.cost);
  }

  /**
   * Emits the oldest waiting calls, across channels, without their replies until `want` bytes
   * are freed. A reply that comes later is counted as unpaired (amqp.unpairedReplies), a
   * confirm as unmatched (amqp.unmatchedConfirms): the pairing of the others stays right.
   */
  private shedOldest(want: number): void {
    let freed = 0;
    for (const w of this.waiting) {
      if (freed >= want) break;
      freed += w.cost;
      this.unhold(w);
      const i = w.list.indexOf(w);
      if (i >= 0) w.list.splice(i, 1);
      this.giveUp(w);
    }
  }

  private giveUp(w: Waiting): void {
    this.ctx.stats.add('amqp.callsShed.memoryBudget');
    w.call.error = `given up waiting for the ${'seq' in w ? 'confirm' : 'reply'}: memory budget`;
    this.finish(w.call, null);
  }

  private onProtocolHeader(dir: Dir, header: Buffer): void {
    this.ctx.stats.add(dir === 0 ? 'amqp.protocolHeaders' : 'amqp.protocolRefusals');
    if (header[5] !== 0 || header[6] !== 9 || header[7] !== 1) this.ctx.stats.add('amqp.otherVersion');
  }

  private channel(id: number): Channel | undefined {
    let ch = this.channels.get(id);
    if (ch === undefined) {
      if (this.channels.size >= MAX_CHANNELS) {
        this.ctx.stats.add('amqp.channelOverflow');
        return undefined;
      }
      ch = { pending: [[], []], content: [null, null], confirms: false, publishSeq: 0, unconfirmed: [] };
      this.channels.set(id, ch);
    }
    return ch;
  }

  private onFrame(dir: Dir, frame: Frame): void {
    try {
      switch (frame.type) {
        case FRAME_METHOD:
          this.onMethod(dir, frame);
          break;
        case FRAME_HEADER:
          this.onContentHeader(dir, frame);
          break;
        case FRAME_BODY:
          this.onBody(dir, frame);
          break;
        case FRAME_HEARTBEAT:
          this.ctx.stats.add('amqp.heartbeats');
          break;
      }
    } catch (err) {
      if (!(err instanceof AmqpError)) throw err;
      this.ctx.stats.add('amqp.malformedMethods');
    }
  }

  private onMethod(dir: Dir, frame: Frame): void {
    const ts = this.ts;
    if (frame.payload.length < 4) throw new AmqpError('method frame too short');
    const classId = frame.payload.readUInt16BE(0);
    const methodId = frame.payload.readUInt16BE(2);
    const spec = methodById(classId, methodId);
    const ch = this.channel(frame.channel);
    if (ch === undefined) return;
    if (ch.content[dir]) {
      // A method frame where body frames were due: the content was cut short.
      this.ctx.stats.add('amqp.contentInterrupted');
      this.cutContent(ch, dir, ts);
    }
    if (spec === undefined) {
      this.ctx.stats.add('amqp.unknownMethods');
      this.emit({ method: methodName(classId, methodId), channel: frame.channel }, null, dir, ts, null);
      return;
    }
    const record: Record<string, unknown> = { method: spec.name, channel: frame.channel, ...decodeArgs(spec, frame.payload, 4) };
    this.redact(record);
    const other: Dir = dir === 0 ? 1 : 0;
    if (spec.name === 'channel.close' || spec.name === 'connection.close') {
      // Whatever the other side was waiting for on this channel (or connection) ends here.
      const why = `${spec.name} ${record.replyCode} ${record.replyText}`;
      const failed = methodName(record.classId as number, record.methodId as number);
      if (record.classId) record.failedMethod = failed;
      const scope = spec.name === 'channel.close' ? [ch] : [...this.channels.values()];
      for (const c of scope) this.closeChannel(c, ts, why, record);
    }

    // A reply to the other side's request?
    const waiting = ch.pending[other];
    const idx = waiting.findIndex((p) => p.spec.replies?.includes(spec.name));
    if (idx >= 0) {
      const [p] = waiting.splice(idx, 1);
      this.unhold(p);
      if (idx > 0) this.ctx.stats.add('amqp.repliesOutOfOrder');
      p.call.response = record;
      if (spec.content) {
        this.startContent(ch, dir, record, p.call, (end) => this.finish(p.call, end));
      } else {
        this.finish(p.call, ts);
      }
      return;
    }
    if (spec.name.endsWith('-ok') || spec.name === 'basic.get-empty') this.ctx.stats.add('amqp.unpairedReplies');

    if (spec.name === 'confirm.select') {
      ch.confirms = true;
      ch.publishSeq = 0;
    }
    if ((spec.name === 'basic.ack' || spec.name === 'basic.nack') && dir === 1 && ch.confirms) {
      if (this.confirm(ch, record, ts)) return;
    }
    const call = this.newCall(record, dir, ts);
    if (spec.content) {
      this.startContent(ch, dir, record, call, (end) => this.contentDone(ch, spec, call, end));
      return;
    }
    if (spec.replies && record.noWait !== true) {
      if (ch.pending[dir].length >= MAX_PENDING) {
        this.ctx.stats.add('amqp.pendingOverflow');
        this.finish(call, null);
        return;
      }
      this.hold({ spec, call, cost: waitingCost(record), list: ch.pending[dir] });
      return;
    }
    this.finish(call, null);
  }

  private startContent(ch: Channel, dir: Dir, record: Record<string, unknown>, call: Call, done: (ts: number) => void): void {
    const body = new BodyCollector(this.ctx.options.maxBody, null, this.ctx.stats, 'amqp', this.bodies);
    ch.content[dir] = { record, call, bodySize: 0, received: 0, body, headerSeen: false, done };
  }

  private onContentHeader(dir: Dir, frame: Frame): void {
    const content = this.channels.get(frame.channel)?.content[dir];
    if (!content || content.headerSeen) {
      this.ctx.stats.add('amqp.unexpectedContent');
      return;
    }
    const header = decodeContentHeader(frame.payload);
    content.headerSeen = true;
    content.bodySize = header.bodySize;
    content.record.properties = header.properties;
    if (header.bodySize === 0) this.endContent(dir, frame.channel);
  }

  private onBody(dir: Dir, frame: Frame): void {
    const content = this.channels.get(frame.channel)?.content[dir];
    if (!content || !content.headerSeen) {
      this.ctx.stats.add('amqp.unexpectedContent');
      return;
    }
    content.received += frame.payload.length;
    content.body.push(frame.payload);
    if (content.received >= content.bodySize) this.endContent(dir, frame.channel);
  }

  private endContent(dir: Dir, channel: number): void {
    const ch = this.channels.get(channel)!;
    const content = ch.content[dir]!;
    ch.content[dir] = null;
    this.attachBody(content);
    content.done(this.ts);
  }

  /** Content that will not be completed (gap, interruption, close): what arrived, incomplete. */
  private cutContent(ch: Channel, dir: Dir, ts: number): void {
    const content = ch.content[dir];
    if (!content) return;
    ch.content[dir] = null;
    content.call.incomplete = true;
    this.attachBody(content);
    content.done(ts);
  }

  /** Properties and body onto the record; called when the content is complete or cut. */
  private attachBody(content: Content): void {
    const body = content.body.render();
    content.body.release();
    const size = Math.max(content.bodySize, content.received);
    // Content cut short (a gap, a close) is shorter than its header announced.
    if (size > content.received) body.bodyTruncated = true;
    body.bodySize = size;
    if (body.bodyTruncated) this.ctx.stats.add('amqp.bodiesTruncated');
    Object.assign(content.record, body);
  }

  private contentDone(ch: Channel, spec: MethodSpec, call: Call, ts: number): void {
    if (spec.name === 'basic.publish' && ch.confirms) {
      ch.publishSeq += 1;
      if (ch.unconfirmed.length >= MAX_UNCONFIRMED) {
        this.ctx.stats.add('amqp.unconfirmedOverflow');
        const oldest = ch.unconfirmed.shift()!;
        this.unhold(oldest);
        this.finish(oldest.call, null);
      }
      this.hold({ seq: ch.publishSeq, call, cost: waitingCost(call.request), list: ch.unconfirmed });
      return;
    }
    this.finish(call, spec.name === 'basic.publish' ? null : ts);
  }

  /** basic.ack/nack from the broker on a confirm channel: completes the publishes it covers. */
  private confirm(ch: Channel, record: Record<string, unknown>, ts: number): boolean {
    const tag = Number(record.deliveryTag);
    const covered = record.multiple === true ? (s: number) => s <= tag : (s: number) => s === tag;
    const done = ch.unconfirmed.filter((u) => covered(u.seq));
    if (done.length === 0) {
      this.ctx.stats.add('amqp.unmatchedConfirms');
      return false;
    }
    // In place: the entries point at this list (for shedding).
    for (let i = ch.unconfirmed.length - 1; i >= 0; i--) if (covered(ch.unconfirmed[i].seq)) ch.unconfirmed.splice(i, 1);
    for (const u of done) {
      this.unhold(u);
      u.call.response = { ...record };
      this.finish(u.call, ts);
    }
    return true;
  }

  /**
   * Ends every call waiting on the channel: requests waiting for a reply get the close as
   * their response (or none, when the connection ended), content is cut, publishes waiting
   * for a confirm end without one.
   */
  private closeChannel(ch: Channel, ts: number, why: string, closeRecord: Record<string, unknown> | null): void {
    for (const d of [0, 1] as const) {
      this.cutContent(ch, d, ts);
      for (const p of ch.pending[d].splice(0)) {
        this.unhold(p);
        if (closeRecord) p.call.response = closeRecord;
        p.call.error = why;
        this.finish(p.call, closeRecord ? ts : null);
      }
    }
    for (const u of ch.unconfirmed.splice(0)) {
      this.unhold(u);
      u.call.error = closeRecord ? `${why} before the confirm` : 'connection closed before the confirm';
      this.finish(u.call, null);
    }
  }

  private newCall(record: Record<string, unknown>, dir: Dir, ts: number): Call {
    const call: Call = { protocol: 'amqp', startMicros: ts, endMicros: null, request: record, response: null, summary: '' };
    if (dir === 1) call.fromServer = true;
    return call;
  }

  private emit(record: Record<string, unknown>, response: Record<string, unknown> | null, dir: Dir, ts: number, end: number | null): void {
    const call = this.newCall(record, dir, ts);
    call.response = response;
    this.finish(call, end);
  }

  private finish(call: Call, endMicros: number | null): void {
    call.endMicros = call.response === null ? null : endMicros;
    call.summary = summarize(call);
    this.ctx.emit(call);
  }

  private redact(record: Record<string, unknown>): void {
    if (!this.ctx.options.redact) return;
    if (record.method === 'connection.start-ok' || record.method === 'connection.secure-ok') {
      if (record.response !== undefined && record.response !== '') record.response = REDACTED;
    }
    if (record.method === 'connection.update-secret') record.newSecret = REDACTED;
  }
}

const TARGET_FIELDS = ['routingKey', 'queue', 'exchange', 'consumerTag', 'virtualHost', 'deliveryTag'];

function target(record: Record<string, unknown>): string {
  const method = record.method as string;
  if (method.endsWith('.close')) return `${record.replyCode} ${record.replyText}`;
  if (method === 'exchange.bind' || method === 'exchange.unbind') return `${record.destination} <- ${record.source} ${record.routingKey}`;
  if (method === 'queue.bind' || method === 'queue.unbind') return `${record.queue} <- ${record.exchange} ${record.routingKey}`;
  for (const f of TARGET_FIELDS) {
    const v = record[f];
    if (v !== undefined && v !== '') return String(v);
  }
  return '';
}

function summarize(call: Call): string {
  const method = call.request.method as string;
  const what = target(call.request);
  const head = what === '' ? method : `${method} ${what.length > 80 ? `${what.slice(0, 80)}…` : what}`;
  if (call.response === null) return head;
  const reply = call.response.method as string;
  const cls = method.slice(0, method.indexOf('.') + 1);
  const short = reply.startsWith(cls) ? reply.slice(cls.length) : reply;
  const detail = reply.endsWith('.close') ? ` ${call.response.replyCode} ${call.response.replyText}` : '';
  return `${head} -> ${short}${detail}`;
}

/**
 * What a waiting call holds, honestly estimated: a fixed cost plus its record's strings (UTF-16)
 * one level down, which includes a publish's rendered body (up to --max-body) and properties.
 */
function waitingCost(record: Record<string, unknown>): number {
  let bytes = WAITING_COST;
  const add = (v: unknown, depth: number): void => {
    if (typeof v === 'string') bytes += 2 * v.length + 32;
    else if (v !== null && typeof v === 'object' && depth < 2) for (const x of Object.values(v)) add(x, depth + 1);
    else bytes += 16;
  };
  for (const v of Object.values(record)) add(v, 0);
  return bytes;
}
