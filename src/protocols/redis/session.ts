// One Redis connection: reads requests from the client side and replies from the server
// side, pairs them in order (pipelining is just a longer queue), keeps MULTI/EXEC and
// pub/sub state, and emits one Call per command and one per pushed message.

import type { Call } from '../../entry.js';
import type { MemoryAccount } from '../../memory/budget.js';
import type { Dir, StreamContext, StreamParser } from '../types.js';
import { MESSAGE_KINDS, REDACTED, SUBSCRIBE_FAMILY, credentialIndexes, firstKeyIndex } from './commands.js';
import { type RenderState, MAX_RENDERED_ELEMENTS, rangeToString, renderMap, renderValue, shortText } from './render.js';
import { ContiguousBytes } from '../contiguous-bytes.js';
import { type RawRequest, readRequest } from './request.js';
import { commandName } from './command-name.js';
import { NEED_MORE, type Resp, RespError, readValue } from './resp.js';
import { RespScanner } from './scan.js';

/**
 * Requests waiting for their reply; past this (or when the memory budget says so) the oldest
 * is emitted without its reply and its reply, when it comes, is skipped: pairing stays right.
 */
export const MAX_PENDING = 1024;
/** Fixed cost of one pending request besides its rendered arguments. */
const PENDING_COST = 512;
/** The session's own state beyond its buffers: measured at about 2.8 KB a connection (5,000, after a full GC). */
const SESSION_COST = 2800;
/** Bytes of one unfinished message kept per direction; a larger message is dropped and resynced. */
export const MAX_BUFFERED = 8 * 1024 * 1024;

interface Pending {
  command: string;
  key: string | undefined;
  request: Record<string, unknown>;
  startMicros: number;
  /** Replies still expected: 1, or one per channel for the subscribe family. */
  remaining: number;
  /** The first reply as the summary and the response need it (its bytes are not kept). */
  first: { type: string; short: string; isError: boolean; attributes?: Record<string, unknown> } | undefined;
  rendered: unknown[];
  state: RenderState;
  incomplete: boolean;
  /** Bytes charged to the memory budget for it. */
  cost: number;
}

interface Side {
  queue: ContiguousBytes;
  scanner: RespScanner;
  /** Skipping bytes after a gap or garbage until a plausible message start. */
  resync: boolean;
  /** Bytes still to come of a large value that was cut short (see cutLargeValue). */
  skip: number;
}

export class RedisSession implements StreamParser {
  private readonly client: Side;
  private readonly server: Side;
  private readonly pending: Pending[] = [];
  /** Replies still to come for requests already emitted without them (shed): skipped, in order. */
  private skipReplies = 0;
  /** Pending requests, charged to the memory budget; the oldest is shed first. */
  private readonly pendingMemory: MemoryAccount;
  private readonly buffers: MemoryAccount;
  /** The session's own state, charged with the connection it belongs to. */
  private readonly stateMemory: MemoryAccount;
  private lastTs = 0;
  /** Inside onData: the buffers are in use and are not shed (the budget moves on). */
  private busy = false;
  /** Pairing after a gap may be off until the connection is quiet again. */
  private afterGap: boolean;
  private inMulti = false;
  /** RESP2 subscribed mode: arrays starting with "message" are pushes, not replies. */
  private subscribed = false;
  /** The message being handled had a large value cut short (see cutLargeValue). */
  private cutting = false;

  constructor(private readonly ctx: StreamContext) {
    // Unfinished messages are charged to the memory budget; when it wants them back, the
    // side holding more loses its unfinished bytes as after a gap.
    this.buffers = ctx.memory.account('app.buffers', () => this.shedBuffer());
    this.client = { queue: new ContiguousBytes(1024 * 1024, this.buffers), scanner: new RespScanner(true), resync: ctx.midstream, skip: 0 };
    this.server = { queue: new ContiguousBytes(1024 * 1024, this.buffers), scanner: new RespScanner(false), resync: ctx.midstream, skip: 0 };
    this.afterGap = ctx.midstream;
    this.pendingMemory = ctx.memory.account('app.pending', (want) => this.shedOldest(want, 'memory budget'));
    // Part of what the connection costs: the connection table evicts the oldest when the
    // budget wants it back (this account itself cannot shed).
    this.stateMemory = ctx.memory.account('tcp.connections');
    if (!this.stateMemory.charge(SESSION_COST)) ctx.stats.add('redis.stateUncharged');
  }

  onData(dir: Dir, data: Buffer, tsMicros: number): void {
    this.busy = true;
    try {
      this.read(dir === 0 ? this.client : this.server, data, tsMicros);
    } catch (err) {
      // Only a bug gets here: keep the engine alive, count it, start over on this side.
      this.ctx.stats.add('redis.internalError');
      this.lose(dir === 0 ? this.client : this.server, tsMicros);
    } finally {
      this.busy = false;
    }
  }

  onGap(dir: Dir, _missing: number, tsMicros: number): void {
    this.ctx.stats.add('redis.gaps');
    this.lose(dir === 0 ? this.client : this.server, tsMicros);
  }

  onEnd(tsMicros: number): void {
    this.flushPending(tsMicros, 'connection closed before the reply');
    this.pendingMemory.close();
    this.stateMemory.close();
    this.client.queue.release();
    this.server.queue.release();
    this.buffers.close();
  }

  /**
   * Bytes of this side are lost: resync it. Lost replies: the requests in flight will never
   * get theirs, so they go out now, incomplete. Lost requests: the queued ones still get their
   * replies, but the lost ones' replies follow, so what pairs until the connection is quiet
   * again is marked incomplete.
   */
  private lose(side: Side, tsMicros: number): void {
    side.queue.clear();
    side.scanner.reset();
    side.resync = true;
    side.skip = 0;
    this.afterGap = true;
    if (side === this.server) this.flushPending(tsMicros, undefined);
  }

  /** The budget wants buffer bytes back: the side holding more drops its unfinished message. */
  private shedBuffer(): void {
    if (this.busy) return;
    const side = this.client.queue.length >= this.server.queue.length ? this.client : this.server;
    this.ctx.stats.add('redis.bytesShed.memoryBudget', side.queue.length);
    this.lose(side, this.lastTs);
    side.queue.release();
  }

  private flushPending(tsMicros: number, error: string | undefined): void {
    for (const p of this.pending.splice(0)) {
      this.pendingMemory.release(p.cost);
      this.emitCall(p, null, error === undefined ? true : p.incomplete, error);
    }
    this.skipReplies = 0;
  }

  /**
   * Emits the oldest pending requests without their replies until `want` bytes are freed
   * (or one, for the queue limit); their replies are skipped when they come.
   */
  private shedOldest(want: number, reason: string): void {
    let freed = 0;
    while (this.pending.length > 0 && freed < want) {
      const p = this.pending.shift() as Pending;
      freed += p.cost;
      this.pendingMemory.release(p.cost);
      this.skipReplies += p.remaining;
      this.ctx.stats.add(`redis.requestsShed.${reason === 'memory budget' ? 'memoryBudget' : 'tooManyPending'}`);
      this.emitCall(p, null, p.incomplete, `given up waiting for the reply: ${reason}`);
    }
  }

  /** Appends data to the side's unfinished bytes and handles every whole message in them. */
  private read(side: Side, data: Buffer, ts: number): void {
    if (side.skip > 0) {
      const n = Math.min(side.skip, data.length);
      side.skip -= n;
      data = data.subarray(n);
      if (data.length === 0) return;
    }
    if (side.resync && side === this.server) {
      // Replies have no marker to search for: only a chunk that starts like a reply is
      // trusted (servers write each reply batch at once).
      if (data.length === 0 || !RESP_TYPE_BYTES.has(data[0])) return;
      side.resync = false;
      this.ctx.stats.add('redis.resynced');
    }
    const q = side.queue;
    this.lastTs = ts;
    if (!q.push(data)) {
      // The budget refused room for this message: it is lost, as after a gap.
      this.ctx.stats.add('redis.bytesDropped.memoryBudget', q.length + data.length);
      this.lose(side, ts);
      return;
    }
    while (q.length > 0) {
      const buf = q.bytes;
      if (side.resync) {
        const at = clientStart(buf, q.start, q.end);
        if (at < 0) {
          q.consume(Math.max(0, q.length - 16)); // a start may straddle two chunks
          return;
        }
        q.consume(at - q.start);
        side.resync = false;
        this.ctx.stats.add('redis.resynced');
      }
      try {
        // A message not yet begun is parsed straight away: in a pipelined batch nearly every
        // one is whole, and scanning each before parsing it read it twice (the scan was 3% of
        // the CPU on the Redis bench capture). One that is not all here goes to the
        // resumable scanner, which from then on keeps its place as bytes come.
        let end = side.scanner.idle ? this.readMessage(side, buf, q.start, q.end, ts) : -1;
        if (end < 0) {
          const scanned = side.scanner.scan(buf, q.start, q.end);
          if (scanned < 0) break;
          side.scanner.reset();
          end = this.readMessage(side, buf, q.start, scanned, ts, true);
        }
        q.consume(end - q.start);
        if (side === this.server && this.afterGap && q.length === 0 && this.pending.length === 0) this.afterGap = false;
      } catch (err) {
        if (!(err instanceof RespError)) throw err;
        this.ctx.stats.add('redis.malformed');
        side.scanner.reset();
        side.resync = true;
        if (side === this.server) {
          q.clear();
          this.afterGap = true;
          this.flushPending(ts, undefined);
          return;
        }
        q.consume(1);
      }
    }
    const cutAt = Math.min(MAX_BUFFERED, this.ctx.options.maxBody + 16 * 1024);
    if (q.length > cutAt && this.cutLargeValue(side, ts)) return;
    if (q.length > MAX_BUFFERED) {
      this.ctx.stats.add('redis.messageTooLarge');
      this.lose(side, ts);
    }
  }

  /**
   * A message that ends with a bulk string larger than an entry keeps (GET of a big value,
   * SET of one): handle it now with the payload cut to --max-body, and skip the rest of the
   * payload as it arrives instead of buffering it. Pairing stays aligned.
   */
  private cutLargeValue(side: Side, ts: number): boolean {
    const cut = side.scanner.cuttable();
    if (cut === null) return false;
    const q = side.queue;
    const buf = q.bytes;
    const keep = Math.min(this.ctx.options.maxBody, q.length - cut.payload);
    const message = Buffer.concat([
      buf.subarray(q.start, q.start + cut.header),
      Buffer.from(`${String.fromCharCode(buf[q.start + cut.header])}${keep}\r\n`, 'latin1'),
      buf.subarray(q.start + cut.payload, q.start + cut.payload + keep),
      CRLF,
    ]);
    side.skip = cut.end - q.length;
    q.clear();
    side.scanner.reset();
    this.ctx.stats.add('redis.largeValuesCut');
    this.cutting = true;
    try {
      this.readMessage(side, message, 0, message.length, ts, true);
      if (side === this.server && this.afterGap && this.pending.length === 0) this.afterGap = false;
    } catch (err) {
      if (!(err instanceof RespError)) throw err;
      this.ctx.stats.add('redis.malformed');
    } finally {
      this.cutting = false;
    }
    return true;
  }

  /**
   * Handles the message at buf[pos], a request or a reply by the side, if it is all in
   * buf[pos, end), and returns where it ends; -1 when it is not all here yet. `whole`: the
   * scanner found the message to be exactly buf[pos, end), and the parser must agree.
   */
  private readMessage(side: Side, buf: Buffer, pos: number, end: number, ts: number, whole = false): number {
    if (side === this.client) {
      const r = readRequest(buf, pos, end);
      if (whole && (r === NEED_MORE || r.end !== end)) throw new RespError('request does not end where scanned');
      if (r === NEED_MORE) return -1;
      if (r.spans.length > 0) this.onRequest(r, ts);
      return r.end;
    }
    const r = readValue(buf, pos, end);
    if (whole && (r === NEED_MORE || r.end !== end)) throw new RespError('reply does not end where scanned');
    if (r === NEED_MORE) return -1;
    this.onReply(r.value, ts);
    return r.end;
  }

  private onRequest(raw: RawRequest, ts: number): void {
    const state: RenderState = { maxBody: this.ctx.options.maxBody, stats: this.ctx.stats, truncated: false, binary: false };
    const { bytes, spans } = raw;
    const command = commandName(bytes, spans[0], spans[1]);
    const given = spans.length / 2 - 1;
    const kept = Math.min(given, MAX_RENDERED_ELEMENTS);
    if (kept < given) {
      state.truncated = true;
      this.ctx.stats.add('redis.argsDropped', given - kept);
    }
    // A plain loop, and binaryArgs made only when an argument is binary: most commands have
    // none, and this runs once per command.
    let binaryArgs: number[] | undefined;
    const args: string[] = [];
    for (let i = 0; i < kept; i++) {
      const wasBinary = state.binary;
      state.binary = false;
      args.push(rangeToString(bytes, spans[2 * i + 2], spans[2 * i + 3], state));
      if (state.binary) (binaryArgs ??= []).push(i);
      state.binary ||= wasBinary;
    }
    if (this.ctx.options.redact) {
      const credentials = credentialIndexes(command, args);
      for (let i = 0; i < credentials.length; i++) args[credentials[i]] = REDACTED;
    }
    const keyAt = firstKeyIndex(command, args);
    const key = keyAt >= 0 ? args[keyAt] : undefined;
    const request: Record<string, unknown> = { command, args };
    if (key !== undefined) request.key = key;
    if (raw.inline) request.inline = true;
    if (binaryArgs !== undefined) request.binaryArgs = binaryArgs;
    if (state.truncated || this.cutting) request.truncated = true;
    if (this.inMulti && command !== 'EXEC' && command !== 'DISCARD' && command !== 'MULTI') request.inTransaction = true;
    if (command === 'MULTI') this.inMulti = true;
    else if (command === 'EXEC' || command === 'DISCARD' || command === 'RESET') this.inMulti = false;

    if (this.pending.length >= MAX_PENDING) this.shedOldest(1, `more than ${MAX_PENDING} requests waiting`);
    const remaining = SUBSCRIBE_FAMILY.has(command) ? Math.max(1, args.length) : 1;
    const pending: Pending = {
      command, key, request, startMicros: ts, remaining, first: undefined, rendered: [],
      state: { maxBody: this.ctx.options.maxBody, stats: this.ctx.stats, truncated: false, binary: false },
      incomplete: this.afterGap, cost: pendingCost(args),
    };
    if (!this.pendingMemory.charge(pending.cost)) {
      // The budget refused: this connection's own oldest go first, then this one if need be.
      this.shedOldest(Number.MAX_SAFE_INTEGER, 'memory budget');
      if (!this.pendingMemory.charge(pending.cost)) {
        this.skipReplies += pending.remaining;
        this.ctx.stats.add('redis.requestsShed.memoryBudget');
        this.emitCall(pending, null, pending.incomplete, 'given up waiting for the reply: memory budget');
        return;
      }
    }
    this.pending.push(pending);
  }

  private onReply(v: Resp, ts: number): void {
    const waiting = this.pending[0];
    const kind = pushKind(v, v.kind === 'push' || this.subscribed || (waiting !== undefined && SUBSCRIBE_FAMILY.has(waiting.command)));
    if (kind !== undefined && MESSAGE_KINDS.has(kind)) {
      this.emitMessage(v as Resp & { items: Resp[] }, kind, ts);
      return;
    }
    if (kind !== undefined && SUBSCRIBE_FAMILY.has(kind.toUpperCase())) {
      const count = (v as { items: Resp[] }).items[2];
      if (count?.kind === 'integer') this.subscribed = Number(count.value) > 0;
      const head = this.pending[0];
      if (head === undefined || !SUBSCRIBE_FAMILY.has(head.command)) {
        // e.g. UNSUBSCRIBE without arguments: one confirmation per channel, count unknown.
        this.ctx.stats.add('redis.extraSubscriptionReplies');
        return;
      }
    } else if (v.kind === 'push') {
      this.emitPush(v, kind ?? 'push', ts);
      return;
    }
    if (this.skipReplies > 0) {
      // The reply of a request already emitted without it (shed): skipped, pairing kept.
      this.skipReplies -= 1;
      this.ctx.stats.add('redis.repliesSkipped');
      return;
    }
    const head = this.pending[0];
    if (head === undefined) {
      this.ctx.stats.add('redis.unpairedReplies');
      return;
    }
    if (this.cutting) head.state.truncated = true;
    if (head.first === undefined) {
      head.first = { type: typeName(v), short: shortText(v), isError: v.kind === 'error' || v.kind === 'bulk-error' };
      if (v.attributes) head.first.attributes = renderMap(v.attributes, head.state);
    }
    head.rendered.push(renderValue(v, head.state));
    head.remaining -= 1;
    if (head.remaining > 0) return;
    this.pending.shift();
    this.pendingMemory.release(head.cost);
    this.emitCall(head, ts, head.incomplete, undefined);
  }

  private emitCall(p: Pending, endMicros: number | null, incomplete: boolean, error: string | undefined): void {
    const target = summaryTarget(p);
    let response: Record<string, unknown> | null = null;
    let summary = target;
    const first = p.first;
    if (first !== undefined) {
      response = { type: first.type };
      if (first.isError) response.error = (p.rendered[0] as { error: string }).error;
      else response.value = p.rendered.length === 1 ? p.rendered[0] : p.rendered;
      if (first.attributes) response.attributes = first.attributes;
      if (p.state.binary) response.binary = true;
      if (p.state.truncated) response.truncated = true;
      summary = `${target} -> ${first.short}`;
    }
    const call: Call = { protocol: 'redis', startMicros: p.startMicros, endMicros, request: p.request, response, summary };
    if (response === null && error !== undefined) call.error = error;
    if (incomplete) call.incomplete = true;
    this.ctx.emit(call);
  }

  /** A published message (RESP3 push, or a RESP2 array in subscribed mode): its own entry. */
  private emitMessage(v: Resp & { items: Resp[] }, kind: string, ts: number): void {
    const state: RenderState = { maxBody: this.ctx.options.maxBody, stats: this.ctx.stats, truncated: false, binary: false };
    const parts = v.items.slice(1).map((item) => renderValue(item, state));
    const request: Record<string, unknown> = { command: kind.toUpperCase(), args: parts.map(String) };
    const withPattern = kind === 'pmessage';
    request.channel = String(parts[withPattern ? 1 : 0]);
    if (withPattern) request.pattern = String(parts[0]);
    request.message = parts[withPattern ? 2 : 1] ?? null;
    if (state.binary) request.binaryArgs = [parts.length - 1];
    if (state.truncated) request.truncated = true;
    const payload = v.items[withPattern ? 3 : 2];
    this.ctx.emit({
      protocol: 'redis',
      startMicros: ts,
      endMicros: null,
      request,
      response: null,
      summary: `${kind} ${clipKey(String(request.channel))}: ${payload ? shortText(payload) : ''}`,
      fromServer: true,
      ...(this.afterGap ? { incomplete: true as const } : {}),
    });
  }

  /** Any other RESP3 push (client-side caching invalidations, monitor lines...). */
  private emitPush(v: Resp & { items: Resp[] }, kind: string, ts: number): void {
    const state: RenderState = { maxBody: this.ctx.options.maxBody, stats: this.ctx.stats, truncated: false, binary: false };
    const value = renderValue(v, state);
    this.ctx.emit({
      protocol: 'redis',
      startMicros: ts,
      endMicros: null,
      request: { command: kind.toUpperCase(), args: (value as unknown[]).slice(1).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) },
      response: null,
      summary: `push ${kind} ${shortText(v)}`,
      fromServer: true,
    });
  }
}

/** What a pending request holds: its rendered arguments (as UTF-16 strings), and a fixed cost. */
function pendingCost(args: string[]): number {
  let bytes = PENDING_COST;
  for (const a of args) bytes += 2 * a.length + 32;
  return bytes;
}

/** The first element of an array/push as lower-case text, when the value may be a push. */
function pushKind(v: Resp, mayBePush: boolean): string | undefined {
  if (!mayBePush || (v.kind !== 'push' && v.kind !== 'array')) return undefined;
  const first = v.items[0];
  if (first === undefined || (first.kind !== 'bulk-string' && first.kind !== 'simple-string')) return undefined;
  if (first.bytes.length > 32) return undefined;
  return first.bytes.toString('latin1').toLowerCase();
}

/** `SET user:1`, `CONFIG GET`, `SUBSCRIBE news`: the command and what it is about. */
function summaryTarget(p: Pending): string {
  if (p.key !== undefined) return `${p.command} ${clipKey(p.key)}`;
  const args = p.request.args as string[];
  if (args.length > 0 && (SUBCOMMAND_CONTAINERS.has(p.command) || CHANNEL_COMMANDS.has(p.command))) {
    return `${p.command} ${clipKey(SUBCOMMAND_CONTAINERS.has(p.command) ? args[0].toUpperCase() : args[0])}`;
  }
  return p.command;
}

const SUBCOMMAND_CONTAINERS = new Set([
  'ACL', 'CLIENT', 'CLUSTER', 'COMMAND', 'CONFIG', 'DEBUG', 'FUNCTION', 'LATENCY', 'MEMORY',
  'MODULE', 'PUBSUB', 'SCRIPT', 'SLOWLOG', 'XGROUP',
]);
const CHANNEL_COMMANDS = new Set([...SUBSCRIBE_FAMILY, 'PUBLISH', 'SPUBLISH']);

function typeName(v: Resp): string {
  return v.kind === 'bulk-error' ? 'error' : v.kind;
}

function clipKey(key: string): string {
  return key.length > 60 ? `${key.slice(0, 60)}…` : key;
}

/** Client side: the next `*N\r\n$` (a command array) in buf[from, to) after lost bytes. */
function clientStart(buf: Buffer, from: number, to: number): number {
  for (let i = buf.indexOf(0x2a, from); i >= 0 && i < to; i = buf.indexOf(0x2a, i + 1)) {
    let j = i + 1;
    while (j < to && buf[j] >= 0x30 && buf[j] <= 0x39 && j - i < 9) j++;
    if (j === i + 1) continue;
    if (j + 2 >= to) return -1;
    if (buf[j] === 0x0d && buf[j + 1] === 0x0a && buf[j + 2] === 0x24) return i;
  }
  return -1;
}

const CRLF = Buffer.from('\r\n');
const RESP_TYPE_BYTES = new Set(Array.from('+-:$*%~>_#,(!=|', (c) => c.charCodeAt(0)));
