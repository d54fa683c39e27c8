// A TLS connection the capture joined after its handshake. Nothing of it can be decrypted and
// no ClientHello will come (so no SNI, no offered versions): what can be said honestly is that
// the two ends talk TLS, with which record-layer version, and how the talk goes. An entry per
// exchange: a run of client records, made as soon as a server record answers it. For the
// request/response protocols carried over TLS (HTTP/1.1, most RPC) that is one call each, and
// its time is the time to the first answering byte; multiplexed ones (HTTP/2) give fewer. One
// entry per connection would not do: a live session drops what comes before its stream is
// attached, and a long-lived connection would then never show again. Every record is walked
// by its header only, never buffered, and counted (tls.midstream.records.TYPE,
// tls.bytesIgnored), so a broken chain is seen (tls.malformed) and not papered over.
//
// If the bytes turn out to begin with a ClientHello after all (the capture began between the
// SYN and the first data), the handshake parser takes over and the usual entry is made.

import type { Call } from '../../entry.js';
import type { MemoryAccount } from '../../memory/budget.js';
import { HeldCharge } from '../kept-bytes.js';
import type { Dir, StreamContext, StreamParser } from '../types.js';
import { versionName } from './names.js';
import { TlsParser } from './parser.js';
import { BOUNDARY_SCAN, CONTENT_TYPE_NAMES, findRecordBoundary, plausibleHeader, RECORD_HEADER } from './records.js';

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;

/** One direction's walk over record headers. */
class RecordWalk {
  synced = false;
  /** Bytes held while looking for the first boundary (at most BOUNDARY_SCAN + a header). */
  private held: Buffer = Buffer.alloc(0);
  /** Bytes of a header cut short by a segment end. */
  private header: Buffer = Buffer.alloc(0);
  /** Bytes of the current record's body still to pass over. */
  private skip = 0;
  records = 0;
  bytes = 0;
  firstVersion = 0;
  /** What `held` costs the memory budget ('app.buffers'). */
  private readonly charge: HeldCharge;

  constructor(account: MemoryAccount, private readonly refused: (bytes: number) => void) {
    this.charge = new HeldCharge(account);
  }

  /** Bytes were lost: the next record boundary must be found again from the headers. */
  lose(): void {
    this.synced = false;
    this.drop();
    this.header = Buffer.alloc(0);
    this.skip = 0;
  }

  private drop(): void {
    this.held = Buffer.alloc(0);
    this.charge.settle(0);
  }

  /**
   * Walks `data`; calls `onRecord` for each header read. Returns false when a header is not a
   * TLS header: the chain is broken, the caller stops walking this direction.
   */
  push(data: Buffer, onRecord: (type: number, length: number) => void): boolean {
    let buf = data;
    if (!this.synced) {
      buf = this.held.length > 0 ? Buffer.concat([this.held, data]) : data;
      const chain = findRecordBoundary(buf);
      if (chain === null) {
        // Keep the tail only: a boundary further on is found from it (bounded).
        const tail = buf.subarray(Math.max(0, buf.length - BOUNDARY_SCAN));
        this.drop();
        // Refused by the budget: those bytes are let go, as lost ones would be.
        if (this.charge.grow(tail.length)) this.held = Buffer.from(tail);
        else this.refused(tail.length);
        return true;
      }
      this.synced = true;
      this.drop();
      buf = buf.subarray(chain.at);
    }
    let pos = 0;
    while (pos < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      const need = RECORD_HEADER - this.header.length;
      const piece = buf.subarray(pos, pos + need);
      this.header = this.header.length === 0 ? Buffer.from(piece) : Buffer.concat([this.header, piece]);
      pos += piece.length;
      if (!plausibleHeader(this.header, 0)) return false;
      if (this.header.length < RECORD_HEADER) break;
      const type = this.header[0];
      const len = this.header.readUInt16BE(3);
      if (this.records === 0) this.firstVersion = this.header.readUInt16BE(1);
      this.records += 1;
      this.bytes += RECORD_HEADER + len;
      this.header = Buffer.alloc(0);
      this.skip = len;
      onRecord(type, len);
    }
    return true;
  }
}

export class TlsMidstreamParser implements StreamParser {
  /** Bytes held while a side looks for its first record boundary. */
  private readonly buffers: MemoryAccount;
  private readonly walks: [RecordWalk, RecordWalk];
  private readonly broken: [boolean, boolean] = [false, false];
  private handshake: TlsParser | null = null;
  /** The client's current run of records, not yet answered by a server record. */
  private run: { startMicros: number; records: number; bytes: number; lost: boolean } | null = null;
  /** Client bytes were lost since the last run: the next one may lack its beginning. */
  private clientLost = false;

  constructor(private readonly ctx: StreamContext) {
    this.buffers = ctx.memory.account('app.buffers');
    const refused = (bytes: number) => ctx.stats.add('tls.bytesDropped.memoryBudget', bytes);
    this.walks = [new RecordWalk(this.buffers, refused), new RecordWalk(this.buffers, refused)];
  }

  onData(dir: Dir, data: Buffer, tsMicros: number): void {
    if (this.handshake) return this.handshake.onData(dir, data, tsMicros);
    if (this.broken[dir]) return void this.ctx.stats.add('tls.bytesIgnored', data.length);
    const walk = this.walks[dir];
    const fresh = walk.records === 0 && walk.synced === false;
    if (fresh && dir === 0 && this.walks[1].records === 0 && startsWithClientHello(data)) {
      // Not mid-handshake after all: the connection's first client bytes are a ClientHello.
      this.handshake = new TlsParser({ ...this.ctx, midstream: false });
      return this.handshake.onData(dir, data, tsMicros);
    }
    const ok = walk.push(data, (type, length) => this.onRecord(dir, type, length, tsMicros));
    this.ctx.stats.add('tls.bytesIgnored', data.length);
    if (!ok) {
      // A header that is not TLS where the chain says one starts: stop believing this side.
      this.broken[dir] = true;
      this.ctx.stats.add('tls.malformed');
      if (dir === 0 && this.run) this.run.lost = true;
    }
  }

  private onRecord(dir: Dir, type: number, length: number, tsMicros: number): void {
    this.ctx.stats.add(`tls.midstream.records.${CONTENT_TYPE_NAMES[type] ?? type}`);
    if (dir === 0) {
      if (this.run === null) {
        this.run = { startMicros: tsMicros, records: 0, bytes: 0, lost: this.clientLost };
        this.clientLost = false;
      }
      this.run.records += 1;
      this.run.bytes += RECORD_HEADER + length;
    } else if (this.run) {
      this.report(tsMicros);
    } else {
      // Server records with no client run before them (the capture began inside an answer).
      this.ctx.stats.add('tls.midstream.unansweredServerRecords');
    }
  }

  onGap(dir: Dir, missing: number, tsMicros: number): void {
    if (this.handshake) return this.handshake.onGap(dir, missing, tsMicros);
    // Where the next record starts is unknown: look for a chain of records again.
    this.ctx.stats.add('tls.gaps');
    this.walks[dir].lose();
    if (dir === 0) {
      if (this.run) this.run.lost = true;
      else this.clientLost = true;
    }
  }

  onEnd(tsMicros: number): void {
    if (this.handshake) return this.handshake.onEnd(tsMicros);
    this.buffers.close();
    // The client's last run was never answered (or the answer was not seen).
    if (this.run) this.report(null);
  }

  /** One exchange: the client's run of records, and when the server's first record answered it. */
  private report(answerMicros: number | null): void {
    const run = this.run!;
    this.run = null;
    const request = {
      recordVersion: versionName(this.walks[0].firstVersion),
      records: run.records,
      bytes: run.bytes,
    };
    const response = answerMicros === null ? null : { recordVersion: versionName(this.walks[1].firstVersion) };
    const call: Call = {
      protocol: 'tls',
      startMicros: run.startMicros,
      endMicros: answerMicros,
      request,
      response,
      summary: `TLS ${request.recordVersion} exchange of ${run.records} record${run.records === 1 ? '' : 's'}, joined mid-stream (no handshake seen, no SNI)`,
    };
    if (run.lost) call.incomplete = true;
    this.ctx.emit(call);
  }
}

/** A handshake record whose body starts a ClientHello, at the very start of the bytes. */
function startsWithClientHello(data: Buffer): boolean {
  return data.length > RECORD_HEADER && data[0] === HANDSHAKE && plausibleHeader(data, 0) && data[RECORD_HEADER] === CLIENT_HELLO;
}
