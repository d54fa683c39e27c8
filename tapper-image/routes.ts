// The HTTP API of docs/tapper-api.md: /healthz without a token, everything else behind the
// X-Tap-Token check (the port is reachable from the node network: nothing is served, not
// even a 404, without the token).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { UsageError } from '../src/errors.js';
import { parseTargets, type TargetRegistry } from '../src/node/targets.js';
import { Stats } from '../src/stats.js';
import { compileFilter } from '../src/sink/filter.js';
import { TOKEN_HEADER, type TokenCheck } from './auth.js';
import { Consumer, heartbeatLine, type ConsumerLimits } from './consumer.js';
import type { Hub } from './hub.js';
import type { PacketHub } from './packet-hub.js';

/** A PUT /targets body larger than this is refused (50,000 pods fit in well under it). */
const MAX_TARGETS_BODY = 32 * 1024 * 1024;
const SESSION_ID = /^[A-Za-z0-9._-]{1,128}$/;

export interface RouteContext {
  token: TokenCheck;
  targets: TargetRegistry;
  hub: Hub;
  /** GET /packets streams (--pcap-out). */
  packets: PacketHub;
  consumerLimits: ConsumerLimits;
  /** Streams open at once at most (their queues share one part of the memory budget). */
  maxConsumers: number;
  ready: () => boolean;
  stats: () => unknown;
  /** Called when a consumer opens a stream (the file source starts playing on the first). */
  onConsumer: () => void;
  shuttingDown: () => boolean;
}

export function handleRequest(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://tapper');
  const path = url.pathname;
  if (path === '/healthz' && req.method === 'GET') {
    const ok = ctx.ready() && !ctx.shuttingDown();
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
    return;
  }
  if (!ctx.token.accepts(req.headers[TOKEN_HEADER])) {
    req.resume();
    sendJson(res, 401, { error: 'missing or wrong X-Tap-Token' });
    return;
  }
  const route = `${req.method} ${path}`;
  switch (route) {
    case 'PUT /targets':
      return void putTargets(ctx, url, req, res);
    case 'DELETE /targets': {
      const session = sessionOf(url, res);
      if (session === null) return;
      ctx.targets.delete(session);
      res.writeHead(204).end();
      return;
    }
    case 'GET /entries':
      return streamEntries(ctx, url, req, res);
    case 'GET /packets':
      return streamPackets(ctx, url, req, res);
    case 'GET /stats':
      return sendJson(res, 200, ctx.stats());
    default:
      req.resume();
      sendJson(res, ['/targets', '/entries', '/packets', '/stats', '/healthz'].includes(path) ? 405 : 404, { error: `no ${route}` });
  }
}

async function putTargets(ctx: RouteContext, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = sessionOf(url, res);
  if (session === null) {
    req.resume();
    return;
  }
  let text: string;
  try {
    text = await readBody(req, MAX_TARGETS_BODY);
  } catch (err) {
    sendJson(res, 413, { error: (err as Error).message });
    return;
  }
  try {
    ctx.targets.put(session, parseTargets(JSON.parse(text)));
  } catch (err) {
    const message = err instanceof SyntaxError ? `the body is not JSON: ${err.message}` : (err as Error).message;
    sendJson(res, 400, { error: message });
    return;
  }
  res.writeHead(204).end();
}

function streamEntries(ctx: RouteContext, url: URL, req: IncomingMessage, res: ServerResponse): void {
  const session = sessionOf(url, res);
  if (session === null) return;
  const source = url.searchParams.get('filter');
  const filterStats = new Stats();
  let filter;
  try {
    filter = source === null || source.trim() === '' ? undefined : compileFilter(source, filterStats);
  } catch (err) {
    const message = err instanceof UsageError ? err.message.replace(/^invalid --filter/, 'invalid filter') : String(err);
    sendJson(res, 400, { error: message });
    return;
  }
  if (!openStream(ctx, req, res)) return;
  const consumer = new Consumer(session, res, filter, ctx.consumerLimits, (c) => ctx.hub.remove(c));
  ctx.hub.add(consumer);
  ctx.onConsumer();
}

/**
 * GET /packets: the packets of the calls this node reports to the session, one a line
 * (packet-stream.ts). Its queue comes out of the same pool as the /entries streams'.
 */
function streamPackets(ctx: RouteContext, url: URL, req: IncomingMessage, res: ServerResponse): void {
  const session = sessionOf(url, res);
  if (session === null || !openStream(ctx, req, res)) return;
  // The rate cap (--max-rate) is on entries, what the CLI prints; packets have their queue's bound.
  ctx.packets.add(session, res, { ...ctx.consumerLimits, maxPerSecond: 0 });
}

/** Refused (503) when shutting down or when the queue pool is taken; else the headers and a first line. */
function openStream(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): boolean {
  if (ctx.shuttingDown()) {
    sendJson(res, 503, { error: 'shutting down' });
    return false;
  }
  if (ctx.hub.open.length + ctx.packets.open.length >= ctx.maxConsumers) {
    sendJson(res, 503, { error: `${ctx.maxConsumers} streams are open already, the most this tapper's memory budget allows` });
    return false;
  }
  req.socket.setNoDelay(true);
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  // Headers and a first line at once: the stream is open before anything is captured.
  res.write(heartbeatLine());
  return true;
}

function sessionOf(url: URL, res: ServerResponse): string | null {
  const session = url.searchParams.get('session');
  if (session === null || !SESSION_ID.test(session)) {
    sendJson(res, 400, { error: 'session= (letters, digits, ".", "_", "-") is required' });
    return null;
  }
  return session;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        reject(new Error(`the body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
