// Talking to a tapper on a node of the simulated cluster: HTTPS over the relay's Unix socket
// to NODE_IP:PORT (the certificate is not verified, as the API server's proxy does not), with
// the session token header (docs/tapper-api.md).
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { dial } from '../cluster/net/dial.js';

export class Tapper {
  constructor(private readonly relaySocket: string, private readonly ip: string, private readonly port: number, private readonly token: string) {}

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    const res = await this.open(method, path, body);
    let text = '';
    for await (const chunk of res) text += chunk;
    return { status: res.statusCode ?? 0, body: text };
  }

  /** GET /entries: every line read until `close()`. */
  async entries(session: string): Promise<{ lines: any[]; close(): void }> {
    const res = await this.open('GET', `/entries?session=${session}`);
    if (res.statusCode !== 200) throw new Error(`/entries: ${res.statusCode}`);
    const lines: any[] = [];
    let partial = '';
    res.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const p of parts) if (p) lines.push(JSON.parse(p));
    });
    res.on('error', () => undefined);
    return { lines, close: () => res.destroy() };
  }

  private open(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = https.request({
        method, path, headers: { 'X-Tap-Token': this.token },
        createConnection: () => tls.connect({ socket: dial(this.relaySocket, this.ip, this.port), rejectUnauthorized: false }),
      } as https.RequestOptions, resolve);
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
}
