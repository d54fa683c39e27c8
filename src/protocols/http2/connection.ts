// One HTTP/2 connection seen passively: two frame readers (one per direction), one HPACK
// context per direction, SETTINGS bookkeeping for header table sizes, and the open streams.
// A stream becomes one entry (http, or grpc by content-type) when the server ends it, when
// either side resets it, when GOAWAY says it was never processed, or when the connection ends.

import type { Dir, StreamContext, StreamParser } from '../types.js';
import { GrpcMessageReader } from '../grpc/framing.js';
import { buildGrpcCall, isGrpcContentType } from '../grpc/call.js';
import { BodyCollector } from '../body-collector.js';
import { CHUNK_COST, KeptBytes } from '../kept-bytes.js';
import { FrameReader, type FrameHandler } from './frame-reader.js';
import { FRAME_HEADER_SIZE, Flag, FrameType, Setting, errorCodeName, type FrameHeader } from './frames.js';
import { HpackContext, type DecodedBlock } from './hpack.js';
import { buildHttpCall } from './http-entry.js';
import type { MemoryAccount } from '../../memory/budget.js';
import { fieldCount, fieldValue, newStream, pseudoOnly, releaseHalf, type Fields, type H2Stream, type HalfStream, type UpgradeRequest } from './stream.js';

/** Streams tracked at once per connection; more are counted and not reported. */
export const MAX_OPEN_STREAMS = 1000;
/**
 * The connection's own state (two frame readers, two HPACK contexts with empty tables, the
 * stream map, accounts): measured at about 5.3 KB a connection (5,000 connections after one
 * finished exchange each, heap after a full GC). The HPACK tables' entries are charged on top
 * as they grow (HpackContext.heldBytes); open streams' header lists and bodies are charged
 * to their own kinds.
 */
const STATE_COST = 5400;
/** Largest header block (HEADERS + CONTINUATION) we assemble. */
const MAX_HEADER_BLOCK = 256 * 1024;

export interface Http2Init {
  upgradeRequest?: UpgradeRequest;
  startMicros?: number;
}

interface PendingBlock {
  streamId: number;
  endStream: boolean;
  promisedId: number;
  chunks: Buffer[];
  size: number;
  /** Bytes charged to the memory budget for the chunks. */
  charged: number;
}

export class Http2Connection implements StreamParser {
  private readonly readers: [FrameReader, FrameReader];
  private readonly hpack: [HpackContext, HpackContext];
  private readonly streams = new Map<number, H2Stream>();
  private readonly continuation: [PendingBlock | null, PendingBlock | null] = [null, null];
  /** Per direction, the stream whose too-large header block is being skipped (0: none). */
  private readonly discarding: [number, number] = [0, 0];
  /** Header table sizes each side announced in SETTINGS, waiting for the peer's ACK. */
  private readonly pendingTableSizes: [(number | undefined)[], (number | undefined)[]] = [[], []];
  /** Bodies and messages kept for streams not yet emitted, charged to the memory budget. */
  private readonly kept: KeptBytes;
  /** Decoded header lists of the open streams (and header blocks being assembled), charged to the memory budget. */
  private readonly headers: MemoryAccount;
  /** Unfinished frames of both directions, charged to the memory budget. */
  private readonly buffers: MemoryAccount;
  /** Inside onData: buffers in use are not shed (the budget moves on). */
  private busy = false;
  private lastTs = 0;
  /** The connection's own state and HPACK tables, charged with the connection ('tcp.connections'). */
  private readonly stateMemory: MemoryAccount;
  /** Bytes of the HPACK tables charged to stateMemory. */
  private tablesCharged = 0;
  /** Joined midstream: ids of the streams last reported, so that their late DATA is not a new stream. */
  private readonly reported = new Set<number>();
  /** Highest stream id seen: frames of lower ids not in `streams` belong to streams already reported. */
  private highestStreamId = 0;

  constructor(
    private readonly ctx: StreamContext,
    init?: Http2Init,
  ) {
    const midstream = ctx.midstream;
    this.kept = new KeptBytes(ctx.memory);
    this.headers = ctx.memory.account('app.headers', (want) => this.shedHeaders(want));
    this.hpack = [new HpackContext(!midstream), new HpackContext(!midstream)];
    // Part of what the connection costs: when the budget wants it back, the connection table
    // evicts its oldest connection (this account itself cannot shed).
    this.stateMemory = ctx.memory.account('tcp.connections');
    if (!this.stateMemory.charge(STATE_COST)) ctx.stats.add('http2.stateUncharged');
    this.buffers = ctx.memory.account('app.buffers', () => {
      if (this.busy) return;
      (this.readers[0].buffered >= this.readers[1].buffered ? this.readers[0] : this.readers[1]).shed(this.lastTs);
    });
    this.readers = [
      new FrameReader(this.handlerFor(0), ctx.stats, midstream ? 'resync' : 'preface', this.buffers),
      new FrameReader(this.handlerFor(1), ctx.stats, midstream ? 'resync' : 'frames', this.buffers),
    ];
    if (init?.upgradeRequest !== undefined) this.startUpgraded(init.upgradeRequest, init.startMicros ?? 0);
  }

  onData(dir: Dir, data: Buffer, tsMicros: number): void {
    this.busy = true;
    this.lastTs = tsMicros;
    try {
      this.readers[dir].push(data, tsMicros);
    } catch (err) {
      // Our own invariant broke on odd input: count it, and resynchronise this direction.
      this.ctx.stats.add('http2.internalErrors');
      this.readers[dir].gap(Number.MAX_SAFE_INTEGER, tsMicros);
    } finally {
      this.busy = false;
    }
    this.chargeTables();
  }

  /**
   * Brings the HPACK tables' charge up to date (they grow with literal headers, up to the
   * table size the peers allowed in SETTINGS). When the budget refuses, the larger table is
   * forgotten, as after a lost header block: later references into it leave those fields
   * out (the entry says incomplete), counted in http2.hpackTablesShed.memoryBudget.
   */
  private chargeTables(): void {
    let held = this.hpack[0].heldBytes + this.hpack[1].heldBytes;
    if (held > this.tablesCharged && !this.stateMemory.charge(held - this.tablesCharged)) {
      const larger = this.hpack[0].heldBytes >= this.hpack[1].heldBytes ? 0 : 1;
      this.hpack[larger].distrust();
      this.ctx.stats.add('http2.hpackTablesShed.memoryBudget');
      held = this.hpack[0].heldBytes + this.hpack[1].heldBytes;
      if (held > this.tablesCharged && !this.stateMemory.charge(held - this.tablesCharged)) {
        this.hpack[1 - larger].distrust();
        this.ctx.stats.add('http2.hpackTablesShed.memoryBudget');
        held = 0;
      }
    }
    if (held < this.tablesCharged) this.stateMemory.release(this.tablesCharged - held);
    this.tablesCharged = held;
  }

  onGap(dir: Dir, missing: number, tsMicros: number): void {
    try {
      this.readers[dir].gap(missing, tsMicros);
    } catch {
      this.ctx.stats.add('http2.internalErrors');
    }
    this.chargeTables();
  }

  onEnd(tsMicros: number): void {
    for (const stream of [...this.streams.values()]) {
      if (stream.resetCode === undefined && stream.error === undefined && !stream.response.ended) {
        stream.error = stream.response.fields === null ? 'connection closed before the response' : 'connection closed during the response';
      }
      this.emit(stream, tsMicros);
    }
    for (const dir of [0, 1] as const) this.dropBlock(dir);
    this.kept.close();
    this.headers.close();
    this.buffers.close();
    this.stateMemory.close();
  }

  private startUpgraded(request: UpgradeRequest, startMicros: number): void {
    const stream = newStream(1, startMicros);
    stream.upgradeRequest = request;
    stream.request.ended = true;
    stream.grpc = false;
    this.streams.set(1, stream);
    // HTTP2-Settings carries the client's SETTINGS, acknowledged by the 101 itself.
    const settings = request.headers['http2-settings'];
    if (settings !== undefined) {
      const size = headerTableSize(Buffer.from(settings, 'base64url'));
      if (size !== undefined) this.hpack[1].applySettingsTableSize(size);
    }
  }

  private handlerFor(dir: Dir): FrameHandler {
    return {
      onFrame: (header, payload, ts) => this.onFrame(dir, header, payload, ts),
      onDataPiece: (streamId, piece, ts) => this.onDataPiece(dir, streamId, piece, ts),
      onDataEnd: (streamId, endStream, ts) => {
        if (this.continuation[dir] !== null) this.abandonBlock(dir);
        this.discarding[dir] = 0;
        if (endStream) this.endHalf(dir, streamId, ts);
      },
      onLost: (streamId, headerBlockLost) => this.onLost(dir, streamId, headerBlockLost),
    };
  }

  private onFrame(dir: Dir, header: FrameHeader, payload: Buffer, ts: number): void {
    const type = header.type;
    if (type !== FrameType.Continuation) {
      if (this.continuation[dir] !== null) this.abandonBlock(dir);
      this.discarding[dir] = 0;
    }
    switch (type) {
      case FrameType.Headers:
      case FrameType.PushPromise:
        this.onHeaderFrame(dir, header, payload, ts);
        return;
      case FrameType.Continuation:
        this.onContinuation(dir, header, payload, ts);
        return;
      case FrameType.RstStream:
        if (payload.length === 4) this.onReset(dir, header.streamId, payload.readUInt32BE(0), ts);
        else this.ctx.stats.add('http2.malformedFrames');
        return;
      case FrameType.Settings:
        this.onSettings(dir, header, payload);
        return;
      case FrameType.GoAway:
        if (payload.length >= 8) this.onGoAway(dir, payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4), ts);
        else this.ctx.stats.add('http2.malformedFrames');
        return;
      default:
        // PRIORITY, PING, WINDOW_UPDATE and extension frames say nothing about calls.
        return;
    }
  }

  private onHeaderFrame(dir: Dir, header: FrameHeader, payload: Buffer, ts: number): void {
    let start = 0;
    let padding = 0;
    if ((header.flags & Flag.Padded) !== 0) {
      padding = payload.length > 0 ? payload[0] : 0;
      start = 1;
    }
    let promisedId = 0;
    if (header.type === FrameType.Headers && (header.flags & Flag.Priority) !== 0) start += 5;
    if (header.type === FrameType.PushPromise) {
      if (payload.length >= start + 4) promisedId = payload.readUInt32BE(start) & 0x7fffffff;
      start += 4;
    }
    const end = payload.length - padding;
    if (end < start) {
      this.ctx.stats.add('http2.malformedFrames');
      this.onLost(dir, header.streamId, true);
      return;
    }
    const fragment = payload.subarray(start, end);
    const block: PendingBlock = {
      streamId: header.streamId,
      endStream: header.type === FrameType.Headers && (header.flags & Flag.EndStream) !== 0,
      promisedId,
      chunks: [fragment],
      size: fragment.length,
      charged: 0,
    };
    if ((header.flags & Flag.EndHeaders) !== 0) {
      this.onHeaderBlock(dir, block, fragment, ts);
      return;
    }
    // The fragment is only valid during this call: keep a copy until END_HEADERS.
    if (!this.headers.charge(fragment.length + CHUNK_COST)) {
      this.ctx.stats.add('http2.headerBytesDropped.memoryBudget', fragment.length);
      this.hpack[dir].distrust();
      this.discarding[dir] = header.streamId;
      return;
    }
    block.charged = fragment.length + CHUNK_COST;
    block.chunks = [Buffer.from(fragment)];
    this.continuation[dir] = block;
  }

  private onContinuation(dir: Dir, header: FrameHeader, payload: Buffer, ts: number): void {
    const block = this.continuation[dir];
    if (block === null && this.discarding[dir] === header.streamId) {
      // The rest of a block given up on as too large: counted, not kept, until END_HEADERS.
      this.ctx.stats.add('http2.headerBytesDropped.blockTooLarge', FRAME_HEADER_SIZE + payload.length);
      if ((header.flags & Flag.EndHeaders) !== 0) this.discarding[dir] = 0;
      return;
    }
    if (block === null || block.streamId !== header.streamId) {
      this.ctx.stats.add('http2.strayContinuation');
      this.abandonBlock(dir);
      return;
    }
    // Frame headers count: a flood of empty CONTINUATION frames is a large block too, and
    // each frame would otherwise cost a kept chunk for nothing.
    block.size += FRAME_HEADER_SIZE + payload.length;
    if (block.size > MAX_HEADER_BLOCK) {
      this.ctx.stats.add('http2.headerBlocksTooLarge');
      this.ctx.stats.add('http2.headerBytesDropped.blockTooLarge', block.size);
      this.abandonBlock(dir);
      // The request still happened: report it, its headers unknown, so its response pairs.
      if (dir === 0 && block.promisedId === 0) this.onRequestHeaders(block, { fields: [], incomplete: true, unknownFields: 0, droppedFields: 0, droppedBytes: 0 }, ts);
      if ((header.flags & Flag.EndHeaders) === 0) this.discarding[dir] = header.streamId;
      return;
    }
    if (payload.length > 0) {
      if (!this.headers.charge(payload.length + CHUNK_COST)) {
        this.ctx.stats.add('http2.headerBytesDropped.memoryBudget', block.size);
        this.abandonBlock(dir);
        if ((header.flags & Flag.EndHeaders) === 0) this.discarding[dir] = header.streamId;
        return;
      }
      block.charged += payload.length + CHUNK_COST;
      block.chunks.push(Buffer.from(payload));
    }
    if ((header.flags & Flag.EndHeaders) !== 0) {
      this.dropBlock(dir);
      this.onHeaderBlock(dir, block, Buffer.concat(block.chunks), ts);
    }
  }

  /** A header block we will never see whole: the HPACK table of that direction is unknown now. */
  private abandonBlock(dir: Dir): void {
    const block = this.continuation[dir];
    this.dropBlock(dir);
    this.hpack[dir].distrust();
    if (block !== null) this.markIncomplete(dir, block.streamId);
  }

  /** Lets go of the header block being assembled in `dir`, if any, and of its charge. */
  private dropBlock(dir: Dir): void {
    const block = this.continuation[dir];
    if (block === null) return;
    this.continuation[dir] = null;
    this.headers.release(block.charged);
    block.charged = 0;
  }

  private onHeaderBlock(dir: Dir, block: PendingBlock, bytes: Buffer, ts: number): void {
    let list: DecodedBlock;
    try {
      list = this.hpack[dir].decode(bytes);
    } catch {
      this.ctx.stats.add('http2.hpackErrors');
      this.hpack[dir].distrust();
      list = { fields: [], incomplete: true, unknownFields: 0, droppedFields: 0, droppedBytes: 0 };
    }
    if (list.incomplete) {
      this.ctx.stats.add('http2.headerBlocksIncomplete');
      this.ctx.stats.add('http2.headerFieldsUnknown', list.unknownFields);
    }
    if (list.droppedFields > 0) {
      this.ctx.stats.add('http2.headerFieldsDropped.listTooLarge', list.droppedFields);
      this.ctx.stats.add('http2.headerBytesDropped.listTooLarge', list.droppedBytes);
    }
    if (block.promisedId !== 0) {
      this.onPushPromise(block.promisedId, list, ts);
      return;
    }
    if (dir === 0) this.onRequestHeaders(block, list, ts);
    else this.onResponseHeaders(block, list, ts);
  }

  private onRequestHeaders(block: PendingBlock, list: DecodedBlock, ts: number): void {
    let stream = this.streams.get(block.streamId);
    if (stream === undefined) {
      if (fieldValue(list.fields, ':method') === undefined && !list.incomplete) {
        this.ctx.stats.add('http2.unpairedHeaders'); // trailers of a stream that began before the capture
        return;
      }
      const created = this.createStream(block.streamId, ts);
      if (created === null) return;
      stream = created;
      this.setFields(stream, stream.request, list);
    } else if (stream.request.fields === null && stream.upgradeRequest === undefined) {
      this.setFields(stream, stream.request, list);
    } else {
      this.setTrailers(stream, stream.request, list);
    }
    if (block.endStream) stream.request.ended = true;
  }

  private onResponseHeaders(block: PendingBlock, list: DecodedBlock, ts: number): void {
    const stream = this.streams.get(block.streamId);
    if (stream === undefined) {
      // Late frames of a stream already reported (after a reset) are normal; others began before the capture.
      if (block.streamId > this.highestStreamId) this.ctx.stats.add('http2.unpairedResponses');
      return;
    }
    const half = stream.response;
    if (stream.joinedLate && (half.payload !== null || block.endStream) && fieldValue(list.fields, ':status') === undefined) {
      // The response's headers came before the capture: this block is its trailers.
      if (half.fields === null) {
        half.fields = [];
        half.headersIncomplete = true;
      }
      this.setTrailers(stream, half, list);
    } else if (half.fields === null) {
      const status = fieldValue(list.fields, ':status');
      // 1xx responses are interim (100-continue, 103 early hints): wait for the final one.
      if (status !== undefined && status.length === 3 && status[0] === '1') return;
      this.setFields(stream, half, list);
    } else {
      this.setTrailers(stream, half, list);
    }
    if (block.endStream) this.endHalf(1, stream.id, ts);
  }

  private onPushPromise(promisedId: number, list: DecodedBlock, ts: number): void {
    const stream = this.createStream(promisedId, ts);
    if (stream === null) return;
    stream.pushed = true;
    this.setFields(stream, stream.request, list);
    stream.request.ended = true;
  }

  private remember(id: number): void {
    this.reported.add(id);
    if (this.reported.size > REMEMBERED_STREAMS) this.reported.delete(this.reported.values().next().value as number);
  }

  private createStream(id: number, ts: number): H2Stream {
    if (this.streams.size >= MAX_OPEN_STREAMS) {
      // Shed the oldest: the stream open longest is the least likely to finish (a peer that
      // opens streams and never ends them), and the new one is reported in its place.
      const oldest = this.streams.values().next().value as H2Stream;
      this.ctx.stats.add('http2.streamsShed.tooManyOpen');
      oldest.error = `given up: more than ${MAX_OPEN_STREAMS} streams open`;
      oldest.incomplete = true;
      this.emit(oldest, ts);
    }
    const stream = newStream(id, ts);
    this.streams.set(id, stream);
    if (id > this.highestStreamId) this.highestStreamId = id;
    return stream;
  }

  /** The first header block of a half (its fields); the list limit's losses are kept with it. */
  private setFields(stream: H2Stream, half: HalfStream, list: DecodedBlock): void {
    half.fields = list.fields;
    half.headersIncomplete = list.incomplete;
    half.headersDropped += list.droppedFields;
    this.chargeHeaders(stream, half, list.fields);
  }

  /** A later block (trailers) of the same half. */
  private setTrailers(stream: H2Stream, half: HalfStream, list: DecodedBlock): void {
    half.trailers = list.fields;
    if (list.incomplete) half.headersIncomplete = true;
    half.headersDropped += list.droppedFields;
    this.chargeHeaders(stream, half, list.fields);
  }

  /**
   * Decoded header lists are held until the stream is emitted: charged to the budget. When
   * it refuses, the list keeps its pseudo-header fields only (what the entry needs to pair
   * and name the call); the rest is counted as dropped, as for the list limit.
   */
  private chargeHeaders(stream: H2Stream, half: HalfStream, fields: Fields): void {
    const bytes = headerListBytes(fields);
    if (this.headers.charge(bytes)) {
      stream.headerBytes += bytes;
      return;
    }
    const dropped = keepOnlyPseudo(fields);
    half.headersDropped += dropped;
    this.ctx.stats.add('http2.headerFieldsDropped.memoryBudget', dropped);
    const keptBytes = headerListBytes(fields);
    if (this.headers.charge(keptBytes)) stream.headerBytes += keptBytes;
  }

  /** The budget wants header bytes back: the streams holding the largest lists give up their regular fields. */
  private shedHeaders(want: number): void {
    const largestFirst = [...this.streams.values()].filter((s) => s.headerBytes > 0).sort((a, b) => b.headerBytes - a.headerBytes);
    let freed = 0;
    for (const stream of largestFirst) {
      if (freed >= want) break;
      let bytes = 0;
      for (const half of [stream.request, stream.response]) {
        for (const fields of [half.fields, half.trailers]) {
          if (fields === null) continue;
          const shed = keepOnlyPseudo(fields);
          half.headersDropped += shed;
          this.ctx.stats.add('http2.headerFieldsShed', shed);
          bytes += headerListBytes(fields);
        }
      }
      const released = stream.headerBytes - bytes;
      freed += released;
      this.headers.release(released);
      stream.headerBytes = bytes;
    }
  }

  private onDataPiece(dir: Dir, streamId: number, piece: Buffer, ts: number): void {
    let stream = this.streams.get(streamId);
    if (stream === undefined) {
      // Joined mid-connection, DATA of a stream we never saw open began before the capture:
      // report it (its headers unknown) rather than nothing. Streams already reported here
      // are remembered so that their late frames do not come back as new ones.
      if (!this.ctx.midstream || this.reported.has(streamId)) return;
      stream = this.joinLate(streamId, piece, ts);
    }
    const half = dir === 0 ? stream.request : stream.response;
    if (half.fields === null && stream.joinedLate) {
      half.fields = [];
      half.headersIncomplete = true;
    }
    if (half.payload === null) half.payload = this.payloadFor(stream, half, piece);
    half.payload.push(piece);
  }

  private joinLate(streamId: number, firstPiece: Buffer, ts: number): H2Stream {
    const stream = this.createStream(streamId, ts);
    stream.joinedLate = true;
    stream.incomplete = true;
    stream.request.fields = [];
    stream.request.headersIncomplete = true;
    stream.grpc = looksLikeGrpcMessage(firstPiece);
    this.ctx.stats.add('http2.streamsJoinedLate');
    return stream;
  }

  private payloadFor(stream: H2Stream, half: HalfStream, firstPiece: Buffer): BodyCollector | GrpcMessageReader {
    // Headers lost to an unknown HPACK table leave the content-type unknown: gRPC's message
    // framing in the first DATA says it instead.
    if (stream.grpc === null && half.headersIncomplete && fieldValue(stream.request.fields, 'content-type') === undefined) {
      if (looksLikeGrpcMessage(firstPiece)) stream.grpc = true;
    }
    if (this.isGrpc(stream)) return new GrpcMessageReader(this.ctx.options.maxMessages, this.ctx.options.maxBody, this.kept, this.ctx.stats);
    const encoding = fieldValue(half.fields, 'content-encoding') ?? null;
    return new BodyCollector(this.ctx.options.maxBody, encoding, this.ctx.stats, 'http2', this.kept);
  }

  private isGrpc(stream: H2Stream): boolean {
    if (stream.grpc === null) {
      const contentType = fieldValue(stream.request.fields, 'content-type') ?? fieldValue(stream.response.fields, 'content-type');
      stream.grpc =
        contentType !== undefined
          ? isGrpcContentType(contentType)
          : stream.request.headersIncomplete && looksLikeGrpcPath(fieldValue(stream.request.fields, ':path'));
    }
    return stream.grpc;
  }

  private endHalf(dir: Dir, streamId: number, ts: number): void {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    if (dir === 0) {
      stream.request.ended = true;
      return;
    }
    stream.response.ended = true;
    this.emit(stream, ts);
  }

  private onReset(dir: Dir, streamId: number, code: number, ts: number): void {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    stream.resetCode = code;
    stream.resetBy = dir;
    this.emit(stream, ts);
  }

  private onGoAway(dir: Dir, lastStreamId: number, code: number, ts: number): void {
    // Streams the sender of GOAWAY never processed: the peer opened them after lastStreamId.
    const peerOpenedOdd = dir === 1;
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastStreamId && (stream.id % 2 === 1) === peerOpenedOdd && stream.response.fields === null) {
        stream.error = `GOAWAY ${errorCodeName(code)}: stream not processed`;
        this.emit(stream, ts);
      }
    }
  }

  private onSettings(dir: Dir, header: FrameHeader, payload: Buffer): void {
    if ((header.flags & Flag.Ack) !== 0) {
      // The peer acknowledged our oldest unacknowledged SETTINGS: its header table size now
      // bounds the decoder of what the acknowledging side sends.
      const pending = this.pendingTableSizes[dir === 0 ? 1 : 0];
      if (pending.length === 0) return;
      const size = pending.shift();
      if (size !== undefined) this.hpack[dir].applySettingsTableSize(size);
      return;
    }
    if (this.pendingTableSizes[dir].length < 16) this.pendingTableSizes[dir].push(headerTableSize(payload));
    else this.ctx.stats.add('http2.settingsUnacknowledged');
  }

  private onLost(dir: Dir, streamId: number, headerBlockLost: boolean): void {
    if (headerBlockLost) {
      this.dropBlock(dir);
      this.hpack[dir].distrust();
    }
    if (streamId !== 0) {
      this.markIncomplete(dir, streamId);
      return;
    }
    for (const stream of this.streams.values()) this.markIncomplete(dir, stream.id);
  }

  private markIncomplete(dir: Dir, streamId: number): void {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    stream.incomplete = true;
    const half = dir === 0 ? stream.request : stream.response;
    half.dataLost = true;
    if (half.payload instanceof GrpcMessageReader) half.payload.lost();
  }

  private emit(stream: H2Stream, ts: number): void {
    this.streams.delete(stream.id);
    if (this.ctx.midstream) this.remember(stream.id);
    this.headers.release(stream.headerBytes);
    stream.headerBytes = 0;
    for (const half of [stream.request, stream.response]) {
      if (half.payload instanceof GrpcMessageReader) half.payload.end();
    }
    const { options, stats } = this.ctx;
    const call = this.isGrpc(stream) ? buildGrpcCall(stream, ts, options, stats) : buildHttpCall(stream, ts, options);
    releaseHalf(stream.request);
    releaseHalf(stream.response);
    this.ctx.emit(call);
  }
}

/** Stream ids remembered as reported (a bounded window: older ones are forgotten first). */
const REMEMBERED_STREAMS = 1024;

/**
 * Whether a DATA payload starts like a gRPC message: a compressed flag of 0 or 1 and a length
 * gRPC would send (its default limit is 4 MiB; allow more), as when a stream's headers are unknown.
 */
function looksLikeGrpcMessage(piece: Buffer): boolean {
  return piece.length >= 5 && piece[0] <= 1 && piece.readUInt32BE(1) <= 64 * 1024 * 1024;
}

/**
 * Bytes a decoded list holds: its strings, and a fixed cost per field (RFC 9113's 32, doubled;
 * a field's two slots in the flat list are 16 bytes, so this errs on the side of holding less).
 */
function headerListBytes(fields: Fields): number {
  let bytes = 0;
  for (const s of fields) bytes += s.length;
  return bytes + fieldCount(fields) * 64;
}

/** Drops a list's regular fields in place (the stream's halves share the list); returns how many. */
function keepOnlyPseudo(fields: Fields): number {
  const kept = pseudoOnly(fields);
  const dropped = fieldCount(fields) - fieldCount(kept);
  fields.length = 0;
  fields.push(...kept);
  return dropped;
}

/**
 * With an unknown HPACK table the content-type is often lost (clients index it); a POST-able
 * path of the form /package.Service/Method is then taken as gRPC (docs/protocols/grpc.md).
 */
function looksLikeGrpcPath(path: string | undefined): boolean {
  return path !== undefined && /^\/[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/.test(path);
}

/** SETTINGS_HEADER_TABLE_SIZE from a SETTINGS payload (the last one wins), if present. */
function headerTableSize(payload: Buffer): number | undefined {
  let size: number | undefined;
  for (let at = 0; at + 6 <= payload.length; at += 6) {
    if (payload.readUInt16BE(at) === Setting.HeaderTableSize) size = payload.readUInt32BE(at + 2);
  }
  return size;
}
