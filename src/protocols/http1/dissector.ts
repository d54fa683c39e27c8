// The HTTP/1.x dissector: two MessageParsers (one per direction) and the pairing of
// requests with responses in order, pipelining included. Decides each response's framing
// from its request (HEAD, CONNECT), skips interim 1xx responses, and ends HTTP/1 parsing on
// 101 Switching Protocols (handing `h2c` over to the http2 dissector) or a CONNECT tunnel.

import type { Stats } from '../../stats.js';
import type { Dir, StreamContext, StreamParser, TcpDissector } from '../types.js';
import type { MemoryAccount } from '../../memory/budget.js';
import { KeptBytes } from '../kept-bytes.js';
import { detectHttp1 } from './detect.js';
import { exchangeToCall, requestFields, type Exchange } from './exchange.js';
import { MessageParser, type Framing, type HttpMessage, type MessageSink } from './message-parser.js';

/**
 * Requests waiting for their responses; beyond it (or when the memory budget says so) the
 * oldest is emitted without one, and the response that answers it is skipped when it comes,
 * so that the next responses still pair with their own requests.
 */
const MAX_PENDING_EXCHANGES = 1024;
/** Fixed cost of one pending exchange besides its head's strings. */
const EXCHANGE_COST = 512;
/**
 * The parser's own state (two message parsers, their sinks, accounts, the exchange list):
 * measured at about 5.4 KB a connection with one request open (5,000 connections, heap and
 * external after a full GC, less what the exchange is charged). Charged for as long as the
 * connection is, so that many idle connections count too.
 */
const PARSER_COST = 5500;

type ResponseRole = 'paired' | 'interim' | 'unpaired' | 'upgrade' | 'tunnel';

export class Http1Parser implements StreamParser {
  private readonly client: MessageParser;
  private readonly server: MessageParser;
  private readonly stats: Stats;
  /** Body bytes kept for entries not yet emitted, charged to the memory budget. */
  private readonly bodies: KeptBytes;
  /** In request order; emitted from the front once both halves are done. */
  private readonly exchanges: Exchange[] = [];
  /** How many exchanges at the front already have their final response. */
  private answered = 0;
  /** Responses still to come for requests emitted without them (shed): skipped, in order. */
  private skipResponses = 0;
  /** Pending exchanges (their heads), charged to the memory budget; the oldest is shed first. */
  private readonly pendingMemory: MemoryAccount;
  /** Unfinished heads and chunk lines of both directions, charged to the memory budget. */
  private readonly buffers: MemoryAccount;
  /** The parser's own state, charged with the connection it belongs to. */
  private readonly stateMemory: MemoryAccount;
  /** Inside onData: buffers in use are not shed (the budget moves on). */
  private busy = false;
  private mode: 'http' | 'switched' | 'ignored' = 'http';
  private next: StreamParser | null = null;
  private current: { role: ResponseRole; exchange: Exchange | null } = { role: 'unpaired', exchange: null };

  constructor(private readonly ctx: StreamContext) {
    this.stats = ctx.stats;
    const maxBody = ctx.options.maxBody;
    this.bodies = new KeptBytes(ctx.memory);
    this.pendingMemory = ctx.memory.account('app.pending', (want) => this.shedOldest(want, 'memoryBudget'));
    // Part of what the connection costs: when the budget wants it back, the connection table
    // evicts its oldest connection (this account itself cannot shed).
    this.stateMemory = ctx.memory.account('tcp.connections');
    if (!this.stateMemory.charge(PARSER_COST)) this.stats.add('http1.stateUncharged');
    this.buffers = ctx.memory.account('app.buffers', () => this.shedBuffer());
    this.client = new MessageParser(true, this.clientSink, ctx.stats, maxBody, ctx.midstream, this.bodies, this.buffers);
    this.server = new MessageParser(false, this.serverSink, ctx.stats, maxBody, ctx.midstream, this.bodies, this.buffers);
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    this.busy = true;
    try {
      if (this.mode === 'http') (dir === 0 ? this.client : this.server).onData(data, ts);
      else if (this.mode === 'switched') this.next?.onData(dir, data, ts);
      else this.stats.add('http1.upgradedBytesIgnored', data.length);
    } catch (err) {
      this.internalError(err);
    } finally {
      this.busy = false;
    }
  }

  /** The budget wants buffer bytes back: the direction holding more drops its unfinished head. */
  private shedBuffer(): void {
    if (this.busy || this.mode !== 'http') return;
    (this.client.buffered >= this.server.buffered ? this.client : this.server).shedBuffer();
  }

  onGap(dir: Dir, missing: number, ts: number): void {
    try {
      if (this.mode === 'http') (dir === 0 ? this.client : this.server).onGap(missing, ts);
      else if (this.mode === 'switched') this.next?.onGap(dir, missing, ts);
    } catch (err) {
      this.internalError(err);
    }
  }

  onEnd(ts: number): void {
    try {
      if (this.mode === 'switched') return this.next?.onEnd(ts);
      if (this.bodyWithheldAfterFinalResponse() && this.client.endBodyNotSent(ts)) this.stats.add('http1.expectBodiesNotSent');
      this.client.onEnd(ts);
      this.server.onEnd(ts);
      while (this.exchanges.length > 0) this.emitFirst();
    } catch (err) {
      this.internalError(err);
    } finally {
      // Whatever is still charged goes with the connection.
      this.bodies.close();
      this.pendingMemory.close();
      this.buffers.close();
      this.stateMemory.close();
    }
  }

  /**
   * The request still being read sent `Expect: 100-continue` and already has its final
   * response (a 417, say): its client may close without sending the body, and then
   * nothing was lost, so the request must not end as incomplete.
   */
  private bodyWithheldAfterFinalResponse(): boolean {
    const last = this.exchanges.at(-1);
    if (last === undefined || last.requestDone || last.response === null) return false;
    return last.request.head.headers['expect']?.trim().toLowerCase() === '100-continue';
  }

  private readonly clientSink: MessageSink = {
    begin: (msg) => {
      if (this.exchanges.length >= MAX_PENDING_EXCHANGES) this.shedOldest(1, 'tooManyPending');
      const cost = exchangeCost(msg);
      if (!this.pendingMemory.charge(cost)) {
        this.shedOldest(Number.MAX_SAFE_INTEGER, 'memoryBudget');
        if (!this.pendingMemory.charge(cost)) this.stats.add('http1.pendingUncharged');
      }
      this.exchanges.push({ request: msg, requestDone: false, response: null, responseDone: false, upgrade: null, cost });
      const head = msg.head;
      // Until the server answers, bytes after an Upgrade or CONNECT request may not be HTTP/1.
      if (head.upgrade !== null || head.method === 'CONNECT') this.client.holdAfterThisMessage();
      if (head.chunked) return 'chunked';
      return 'length';
    },
    complete: (msg) => {
      for (let i = this.exchanges.length - 1; i >= 0; i--) {
        if (this.exchanges[i].request === msg) {
          this.exchanges[i].requestDone = true;
          break;
        }
      }
      this.flush();
    },
    stopped: () => {},
  };

  private readonly serverSink: MessageSink = {
    begin: (msg) => this.beginResponse(msg),
    complete: (msg) => this.completeResponse(msg),
    stopped: (rest, ts) => {
      if (rest.length === 0) return;
      if (this.mode === 'switched') this.next?.onData(1, rest, ts);
      else this.stats.add('http1.upgradedBytesIgnored', rest.length);
    },
  };

  private beginResponse(msg: HttpMessage): Framing {
    const head = msg.head;
    const status0 = head.status;
    if (this.skipResponses > 0 && !(status0 >= 100 && status0 < 200 && status0 !== 101)) {
      // The response of a request already emitted without it (shed): skipped, pairing kept.
      this.skipResponses -= 1;
      this.stats.add('http1.responsesSkipped');
      this.current = { role: 'unpaired', exchange: null };
      return unpairedFraming(msg);
    }
    const ex = this.answered < this.exchanges.length ? this.exchanges[this.answered] : null;
    // A response that starts before its supposed request cannot answer it: its request
    // predates the capture (or was lost in a gap).
    if (ex === null || ex.request.startMicros > msg.startMicros) {
      this.stats.add('http1.unpairedResponses');
      this.current = { role: 'unpaired', exchange: null };
      return unpairedFraming(msg);
    }
    const status = head.status;
    if (status >= 100 && status < 200 && status !== 101) {
      this.current = { role: 'interim', exchange: ex };
      return 'none';
    }
    this.answered++;
    ex.response = msg;
    const req = ex.request.head;
    if (status === 101) {
      this.current = { role: 'upgrade', exchange: ex };
      return 'stop';
    }
    if (req.method === 'CONNECT' && status >= 200 && status < 300) {
      this.current = { role: 'tunnel', exchange: ex };
      return 'stop';
    }
    this.current = { role: 'paired', exchange: ex };
    // The upgrade or tunnel was refused: what the client sent since is HTTP/1 again.
    if (req.upgrade !== null || req.method === 'CONNECT') this.client.release();
    if (req.method === 'HEAD' || status === 204 || status === 304) return 'none';
    if (head.chunked) return 'chunked';
    if (head.contentLength !== null) return 'length';
    return 'close';
  }

  private completeResponse(msg: HttpMessage): void {
    const { role, exchange } = this.current;
    this.current = { role: 'unpaired', exchange: null };
    if (exchange === null || role === 'interim' || role === 'unpaired') return msg.body.release();
    exchange.responseDone = true;
    if (role === 'upgrade') return this.upgrade(exchange, msg);
    if (role === 'tunnel') {
      exchange.upgrade = 'tunnel';
      this.ignoreRest();
    }
    this.flush();
  }

  private upgrade(ex: Exchange, response: HttpMessage): void {
    const protocol = (ex.request.head.upgrade ?? response.head.headers['upgrade'] ?? 'unknown').trim();
    if (protocol.toLowerCase() === 'h2c') {
      const init = { upgradeRequest: requestFields(ex.request), startMicros: ex.request.startMicros };
      ex.request.body.release();
      const next = this.ctx.switchTo('http2', init);
      if (next !== null) {
        // Stream 1 of the HTTP/2 connection carries this request's response: http2 emits it.
        this.exchanges.splice(this.exchanges.indexOf(ex), 1);
        this.answered--;
        this.flush();
        this.mode = 'switched';
        this.next = next;
        for (const item of this.client.takeHeld()) {
          if (item.data) next.onData(0, item.data, item.ts);
          else next.onGap(0, item.missing, item.ts);
        }
        return;
      }
      this.stats.add('http1.upgradeNotHandedOff');
    }
    ex.upgrade = protocol;
    this.ignoreRest();
    this.flush();
  }

  /** The connection is no longer HTTP/1 (websocket, tunnel): count its bytes from now on. */
  private ignoreRest(): void {
    this.mode = 'ignored';
    let held = 0;
    for (const item of this.client.takeHeld()) held += item.data ? item.data.length : 0;
    if (held > 0) this.stats.add('http1.upgradedBytesIgnored', held);
  }

  private flush(): void {
    while (this.exchanges.length > 0) {
      const first = this.exchanges[0];
      if (!first.requestDone || !first.responseDone) return;
      this.emitFirst();
    }
  }

  /**
   * Emits the oldest exchanges without their responses until `want` bytes are freed (or one,
   * for the queue limit). Only exchanges still waiting for a response head are shed; their
   * responses are skipped when they come.
   */
  private shedOldest(want: number, reason: 'tooManyPending' | 'memoryBudget'): void {
    let freed = 0;
    while (freed < want && this.exchanges.length > 0) {
      const first = this.exchanges[0];
      if (this.answered === 0 && first.requestDone) {
        first.shed = reason === 'tooManyPending' ? `more than ${MAX_PENDING_EXCHANGES} requests waiting` : 'memory budget';
        this.skipResponses += 1;
      } else if (this.answered === 0 || (reason === 'memoryBudget' && !first.responseDone)) {
        // Still being sent, or its response is arriving (the budget takes bodies for that):
        // nothing older to shed.
        break;
      }
      freed += first.cost;
      this.stats.add(`http1.exchangesShed.${reason}`);
      this.emitFirst();
    }
  }

  private emitFirst(): void {
    const ex = this.exchanges.shift() as Exchange;
    this.pendingMemory.release(ex.cost);
    if (this.answered > 0) this.answered--;
    const call = exchangeToCall(ex);
    ex.request.body.release();
    ex.response?.body.release();
    this.ctx.emit(call);
  }

  /** A bug of ours must not take the engine down: count it and stop parsing this connection. */
  private internalError(err: unknown): void {
    this.stats.add('http1.internalErrors');
    this.mode = 'ignored';
    if (process.env.KUBECTL_TAP_DEBUG) console.error('http1:', err);
  }
}

/** What a pending exchange holds: its request head's strings (UTF-16), and a fixed cost. */
function exchangeCost(msg: HttpMessage): number {
  let bytes = EXCHANGE_COST + 2 * msg.head.target.length;
  for (const name in msg.head.headers) bytes += 2 * (name.length + msg.head.headers[name].length) + 64;
  return bytes;
}

/** A response without its request: HEAD is unknown, so no length means no body unless the connection closes. */
function unpairedFraming(msg: HttpMessage): Framing {
  const head = msg.head;
  if ((head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) return 'none';
  if (head.chunked) return 'chunked';
  if (head.contentLength !== null) return 'length';
  const closes = head.connectionClose || (head.httpVersion === '1.0' && !head.keepAlive);
  return closes ? 'close' : 'none';
}

export const http1Dissector: TcpDissector = {
  name: 'http1',
  detect: detectHttp1,
  create: (ctx) => new Http1Parser(ctx),
};
