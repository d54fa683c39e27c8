// One TLS connection, handshake only (no decryption): reassemble handshake records of each
// direction (a ClientHello may span records and segments), read the ClientHello and the
// ServerHello, emit one entry, then ignore the rest of the connection (counting its bytes).
import type { Call } from '../../entry.js';
import type { MemoryAccount } from '../../memory/budget.js';
import { ByteQueue } from '../byte-queue.js';
import type { Dir, Probe, StreamContext, StreamParser, Verdict } from '../types.js';
import { parseClientHello, parseServerHello, type ClientHello } from './hello.js';
import { alertName, versionName } from './names.js';

const recordHeader = 5;
/** TLSCiphertext may be 2^14 + 2048 bytes; anything longer is not TLS. */
const maxRecord = 16384 + 2048;
/**
 * Largest handshake message we assemble: what a ClientHello's own length fields allow
 * (version 2, random 32, session id 1+32, cipher suites 2+65534, compression 1+255,
 * extensions 2+65535; RFC 8446 section 4.1.2). Post-quantum key shares and padding make
 * hellos of tens of KB, spread over several records; a ServerHello is smaller still.
 */
const maxHandshake = 2 + 32 + 33 + 65536 + 256 + 65537;
/** Bytes of a handshake message detection needs: type, 3-byte length, legacy version. */
const helloPrefix = 6;

const ContentType = { ChangeCipherSpec: 20, Alert: 21, Handshake: 22, ApplicationData: 23 } as const;

export class TlsParser implements StreamParser {
  /** Records and handshake messages being assembled, charged to the memory budget. */
  private readonly buffers: MemoryAccount;
  private readonly records: [ByteQueue, ByteQueue];
  private readonly handshake: [ByteQueue, ByteQueue];
  private busy = false;
  private lastTs = 0;
  private hello: ClientHello | null = null;
  private helloMicros = 0;
  private recordVersion = '';
  private done = false;
  private incomplete = false;

  constructor(private readonly ctx: StreamContext) {
    if (ctx.midstream) this.done = true; // the handshake is behind us
    this.buffers = ctx.memory.account('app.buffers', () => {
      // The budget wants the bytes back: the handshake is given up on, its entry says so.
      if (this.busy || this.done) return;
      this.ctx.stats.add('tls.handshakesShed.memoryBudget');
      this.incomplete = true;
      this.finish(this.lastTs, null, 'handshake given up: memory budget');
      this.ignoreRest();
    });
    this.records = [new ByteQueue(this.buffers), new ByteQueue(this.buffers)];
    this.handshake = [new ByteQueue(this.buffers), new ByteQueue(this.buffers)];
  }

  onData(dir: Dir, data: Buffer, tsMicros: number): void {
    if (this.done) return void this.ctx.stats.add('tls.bytesIgnored', data.length);
    this.lastTs = tsMicros;
    this.busy = true;
    try {
      this.read(dir, data, tsMicros);
    } finally {
      this.busy = false;
    }
  }

  private read(dir: Dir, data: Buffer, tsMicros: number): void {
    const q = this.records[dir];
    if (!q.push(data)) {
      this.ctx.stats.add('tls.bytesDropped.memoryBudget', data.length);
      this.incomplete = true;
      this.finish(tsMicros, null, 'handshake given up: memory budget');
      return;
    }
    while (!this.done && q.length >= recordHeader) {
      const h = q.peek(recordHeader);
      const type = h[0];
      const len = h.readUInt16BE(3);
      if (h[1] !== 3 || len > maxRecord || type < 20 || type > 24) {
        this.ctx.stats.add('tls.malformed');
        this.finish(tsMicros, null, 'not a TLS record');
        return;
      }
      if (q.length < recordHeader + len) return;
      const fragment = q.peek(recordHeader + len).subarray(recordHeader);
      if (dir === 0 && this.recordVersion === '') this.recordVersion = versionName(h.readUInt16BE(1));
      this.record(dir, type, fragment, tsMicros);
      q.consume(recordHeader + len);
    }
    if (this.done) this.ignoreRest();
  }

  /** The handshake is over for us: what is still queued is counted as ignored and let go. */
  private ignoreRest(): void {
    this.ctx.stats.add('tls.bytesIgnored', this.records[0].length + this.records[1].length);
    this.records[0].clear();
    this.records[1].clear();
    this.buffers.close();
  }

  onGap(dir: Dir, _missing: number, tsMicros: number): void {
    if (this.done) return;
    this.ctx.stats.add('tls.gaps');
    this.incomplete = true;
    this.finish(tsMicros, null);
    void dir;
  }

  onEnd(tsMicros: number): void {
    if (!this.done) this.finish(tsMicros, null, this.hello ? 'connection ended before the ServerHello' : undefined);
    this.buffers.close();
  }

  private record(dir: Dir, type: number, fragment: Buffer, tsMicros: number): void {
    if (type === ContentType.Alert && dir === 1 && fragment.length >= 2) {
      const alert = alertName(fragment[1]);
      this.finish(tsMicros, { alert }, `server alert: ${alert}`);
      return;
    }
    if (type !== ContentType.Handshake) {
      // Encrypted data or ChangeCipherSpec before we saw a hello: nothing more to learn.
      if (type === ContentType.ApplicationData) this.finish(tsMicros, null);
      return;
    }
    const hs = this.handshake[dir];
    if (!hs.push(fragment)) {
      this.ctx.stats.add('tls.bytesDropped.memoryBudget', fragment.length);
      this.incomplete = true;
      this.finish(tsMicros, null, 'handshake given up: memory budget');
      return;
    }
    if (hs.length < 4) return;
    const head = hs.peek(4);
    const msgType = head[0];
    const len = head.readUIntBE(1, 3);
    if (len > maxHandshake) {
      this.ctx.stats.add('tls.handshakeTooLarge');
      this.finish(tsMicros, null);
      return;
    }
    if (hs.length < 4 + len) return;
    const body = hs.peek(4 + len).subarray(4);
    if (dir === 0 && msgType === 1 && !this.hello) {
      this.hello = parseClientHello(body);
      this.helloMicros = tsMicros;
      if (!this.hello) {
        this.ctx.stats.add('tls.malformed');
        this.finish(tsMicros, null);
      }
      hs.clear(); // what follows is encrypted or irrelevant to the entry
    } else if (dir === 1 && msgType === 2) {
      const sh = parseServerHello(body);
      if (!sh) this.ctx.stats.add('tls.malformed');
      this.finish(tsMicros, sh ? { ...sh } : null);
    } else {
      hs.consume(4 + len);
    }
  }

  private finish(tsMicros: number, response: Record<string, unknown> | null, error?: string): void {
    if (this.done) return;
    this.done = true;
    this.handshake[0].clear();
    this.handshake[1].clear();
    if (!this.hello) return; // no ClientHello, no entry
    const h = this.hello;
    const request: Record<string, unknown> = { version: h.version, recordVersion: this.recordVersion };
    if (h.sni !== undefined) request.sni = h.sni;
    if (h.alpn) request.alpn = h.alpn;
    if (h.supportedVersions) request.supportedVersions = h.supportedVersions;
    request.cipherSuites = h.cipherSuites;
    let summary = `ClientHello ${h.sni ?? '(no SNI)'}`;
    if (response && typeof response.cipher === 'string') summary += ` -> TLS ${response.version} ${response.cipher}`;
    else if (response && response.alert) summary += ` -> alert ${response.alert}`;
    const call: Call = {
      protocol: 'tls',
      startMicros: this.helloMicros,
      endMicros: response ? tsMicros : null,
      request,
      response,
      summary,
    };
    if (error) call.error = error;
    if (this.incomplete) call.incomplete = true;
    this.ctx.emit(call);
  }
}

/**
 * A ClientHello opens the connection: handshake records (TLS 1.0-1.3 record versions) whose
 * fragments, joined, begin with msg_type 1, a length a ClientHello can have, and a 3.x
 * legacy version. The hello may be cut into records of any size, down to one byte each
 * (legal, RFC 8446 section 5.1, and a known way past naive DPI), so the records are walked.
 */
export function detectTls(probe: Probe): Verdict {
  const c = probe.client;
  const undecided: Verdict = probe.server.length > 0 ? 'no' : 'more'; // the client speaks first
  if (c.length === 0) return undecided;
  const hs: number[] = [];
  let pos = 0;
  while (hs.length < helloPrefix) {
    if (pos >= c.length) return undecided;
    if (c[pos] !== ContentType.Handshake) return 'no';
    if (pos + 1 < c.length && c[pos + 1] !== 3) return 'no';
    if (pos + 2 < c.length && c[pos + 2] > 4) return 'no';
    if (pos + 5 > c.length) return undecided;
    const len = c.readUInt16BE(pos + 3);
    // Zero-length handshake fragments are forbidden (RFC 8446 section 5.1).
    if (len === 0 || len > maxRecord) return 'no';
    const end = Math.min(c.length, pos + 5 + len);
    for (let i = pos + 5; i < end && hs.length < helloPrefix; i++) hs.push(c[i]);
    pos += 5 + len;
  }
  if (hs[0] !== 1) return 'no';
  const length = (hs[1] << 16) | (hs[2] << 8) | hs[3];
  if (length < 38 || length > maxHandshake) return 'no';
  return hs[4] === 3 && hs[5] <= 4 ? 'yes' : 'no';
}
