// ClientHello and ServerHello bodies (RFC 8446 section 4.1.2-4.1.3, RFC 5246 7.4.1): only
// what an entry shows. Parsed by hand because node's tls module cannot parse a hello it did
// not take part in. Every length is checked; malformed input returns null.
import { cipherName, isGrease, versionName } from './names.js';

export interface ClientHello {
  version: string;
  legacyVersion: string;
  sni?: string;
  alpn?: string[];
  supportedVersions?: string[];
  cipherSuites: number;
}

export interface ServerHello {
  version: string;
  cipher: string;
  alpn?: string;
  helloRetryRequest?: true;
}

/** SHA-256("HelloRetryRequest"): the random of a ServerHello that is really a retry request. */
const hrrRandom = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

class Malformed extends Error {}

class Cursor {
  constructor(
    readonly b: Buffer,
    public pos: number,
    readonly end: number,
  ) {}
  need(n: number): void {
    if (this.pos + n > this.end) throw new Malformed();
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  /** A length-prefixed block (1 or 2 byte length); returns a cursor over it and skips it. */
  block(lenBytes: 1 | 2): Cursor {
    const len = lenBytes === 1 ? this.u8() : this.u16();
    this.need(len);
    const c = new Cursor(this.b, this.pos, this.pos + len);
    this.pos += len;
    return c;
  }
}

function extensions(c: Cursor, each: (type: number, body: Cursor) => void): void {
  if (c.pos >= c.end) return; // extensions are optional before TLS 1.2
  const all = c.block(2);
  while (all.pos < all.end) {
    const type = all.u16();
    each(type, all.block(2));
  }
}

export function parseClientHello(body: Buffer): ClientHello | null {
  try {
    const c = new Cursor(body, 0, body.length);
    const legacy = c.u16();
    c.need(32);
    c.pos += 32;
    c.block(1); // session id
    const suites = c.block(2);
    c.block(1); // compression methods
    const hello: ClientHello = { version: versionName(legacy), legacyVersion: versionName(legacy), cipherSuites: (suites.end - suites.pos) >> 1 };
    extensions(c, (type, e) => {
      if (type === 0) {
        const list = e.block(2);
        while (list.pos < list.end) {
          const kind = list.u8();
          const name = list.block(2);
          if (kind === 0) hello.sni = body.toString('latin1', name.pos, name.end);
        }
      } else if (type === 16) {
        const list = e.block(2);
        const protocols: string[] = [];
        while (list.pos < list.end) {
          const p = list.block(1);
          protocols.push(body.toString('latin1', p.pos, p.end));
        }
        hello.alpn = protocols;
      } else if (type === 43) {
        const list = e.block(1);
        const vs: number[] = [];
        while (list.pos < list.end) {
          const v = list.u16();
          if (!isGrease(v)) vs.push(v);
        }
        hello.supportedVersions = vs.map(versionName);
        if (vs.length > 0) hello.version = versionName(Math.max(...vs));
      }
    });
    return hello;
  } catch (err) {
    if (err instanceof Malformed) return null;
    throw err;
  }
}

export function parseServerHello(body: Buffer): ServerHello | null {
  try {
    const c = new Cursor(body, 0, body.length);
    const legacy = c.u16();
    c.need(32);
    const random = body.toString('hex', c.pos, c.pos + 32);
    c.pos += 32;
    c.block(1);
    const hello: ServerHello = { version: versionName(legacy), cipher: cipherName(c.u16()) };
    c.u8(); // compression method
    extensions(c, (type, e) => {
      if (type === 43) hello.version = versionName(e.u16());
      else if (type === 16) {
        const list = e.block(2);
        const p = list.block(1);
        hello.alpn = body.toString('latin1', p.pos, p.end);
      }
    });
    if (random === hrrRandom) hello.helloRetryRequest = true;
    return hello;
  } catch (err) {
    if (err instanceof Malformed) return null;
    throw err;
  }
}
