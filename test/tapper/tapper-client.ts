// Talking to a tapper: in the test's node namespace, HTTPS through the relay's Unix socket
// (relaySocket), or on loopback directly (relaySocket null), as the API server's proxy does
// (the certificate is not verified: TLS is encryption only).
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { dial } from '../cluster/net/dial.js';

export class TapperClient {
  constructor(
    private readonly relaySocket: string | null,
    private readonly host: string,
    private readonly port: number,
    readonly token: string,
  ) {}

  request(method: string, path: string, opts: { body?: unknown; token?: string | null } = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = this.raw(method, path, opts.token === undefined ? this.token : opts.token, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
    });
  }

  async stats(): Promise<any> {
    const r = await this.request('GET', '/stats');
    if (r.status !== 200) throw new Error(`/stats: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
  }

  /** Opens GET /entries; the stream collects lines until closed. */
  stream(session: string, filter?: string): Promise<EntryStream> {
    const query = `session=${encodeURIComponent(session)}${filter === undefined ? '' : `&filter=${encodeURIComponent(filter)}`}`;
    return this.open(`/entries?${query}`);
  }

  /** Opens GET /packets: its `entries` are the packet lines. */
  packets(session: string): Promise<EntryStream> {
    return this.open(`/packets?session=${encodeURIComponent(session)}`);
  }

  private open(path: string): Promise<EntryStream> {
    return new Promise((resolve, reject) => {
      const req = this.raw('GET', path, this.token, (res) => resolve(new EntryStream(res)));
      req.on('error', reject);
      req.end();
    });
  }

  private raw(method: string, path: string, token: string | null, onResponse: (res: IncomingMessage) => void) {
    const headers: Record<string, string> = {};
    if (token !== null) headers['X-Tap-Token'] = token;
    return https.request(
      {
        method,
        path,
        headers,
        createConnection: () =>
          this.relaySocket === null
            ? tls.connect({ host: this.host, port: this.port, rejectUnauthorized: false })
            : tls.connect({ socket: dial(this.relaySocket, this.host, this.port), rejectUnauthorized: false }),
      } as https.RequestOptions,
      onResponse,
    );
  }
}

export class EntryStream {
  readonly lines: any[] = [];
  ended = false;
  private partial = '';
  private readonly waiters = new Set<() => void>();

  constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      // Lines may be long (a packet as base64) and come in many chunks: never re-split what is partial.
      let start = 0;
      for (let nl = d.indexOf('\n'); nl >= 0; start = nl + 1, nl = d.indexOf('\n', start)) {
        const line = this.partial + d.slice(start, nl);
        this.partial = '';
        if (line !== '') this.lines.push(JSON.parse(line));
      }
      this.partial += d.slice(start);
      this.wake();
    });
    res.on('end', () => {
      this.ended = true;
      this.wake();
    });
    res.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  get entries(): any[] {
    return this.lines.filter((l) => l.marker === undefined);
  }

  markers(kind: string): any[] {
    return this.lines.filter((l) => l.marker === kind);
  }

  /** Waits until `done` holds over what arrived (or the stream ends, or time runs out). */
  async until(done: (s: EntryStream) => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this) && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
        this.waiters.add(wake);
      });
    }
  }

  close(): void {
    this.res.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Polls `check` until it holds; throws after timeoutMs. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
