// The contract every protocol dissector implements (compare Mizu's extensions: detect,
// dissect, pair). A TCP dissector never sees packets or sequence numbers: the reassembler
// gives it each direction's bytes in order and tells it about gaps (like gopacket's
// reassembly.Stream). Bytes passed to onData/onDatagram are only valid during the call:
// copy what you keep.

import type { Call } from '../entry.js';
import type { MemoryBudget } from '../memory/budget.js';
import type { Stats } from '../stats.js';

/** 0: client to server, 1: server to client. */
export type Dir = 0 | 1;

export interface EngineOptions {
  /** Bytes of a body kept per entry (--max-body); sizes are still reported exactly. */
  maxBody: number;
  /** Messages kept per streaming entry (gRPC streams, Kafka record sets); the rest are counted. */
  maxMessages: number;
  /** Redact credentials (--no-redact turns it off). */
  redact: boolean;
  /** Header names (lower case) whose values are redacted, defaults plus --redact-header. */
  redactHeaders: ReadonlySet<string>;
  /** .proto files or folders given with --proto, for named gRPC decoding. */
  protoPaths: readonly string[];
  /**
   * Bytes the engine may hold at once across everything that grows with the input
   * (--memory-budget, default 256 MiB); see src/memory/budget.ts.
   */
  memoryBudget: number;
}

export interface StreamContext {
  readonly client: { ip: string; port: number };
  readonly server: { ip: string; port: number };
  /** The capture joined after the handshake: start at the first plausible message boundary. */
  readonly midstream: boolean;
  readonly options: EngineOptions;
  readonly stats: Stats;
  /**
   * The engine's one memory budget: charge what you keep (pending requests, bodies being
   * collected, header lists, parse buffers) through an account, release it when you let go;
   * a refused charge means drop or truncate, and count it. See src/memory/budget.ts.
   */
  readonly memory: MemoryBudget;
  emit(call: Call): void;
  /**
   * Hand the connection over to another dissector (HTTP/1.1 Upgrade: h2c, websocket...).
   * Returns the new parser, which gets every byte from now on; the caller passes it any
   * bytes it already holds beyond the upgrade. Null when no dissector of that name exists.
   */
  switchTo(protocol: string, init?: unknown): StreamParser | null;
}

export interface StreamParser {
  onData(dir: Dir, data: Buffer, tsMicros: number): void;
  /** `missing` bytes of direction `dir` were never captured; resynchronise or mark entries incomplete. */
  onGap(dir: Dir, missing: number, tsMicros: number): void;
  /** Connection closed, reset or evicted: emit what is pending (requests without a response get response null). */
  onEnd(tsMicros: number): void;
}

export interface Probe {
  /** First bytes the client sent (may be empty), and the server's. At most ~64 KiB each. */
  client: Buffer;
  server: Buffer;
  clientPort: number;
  serverPort: number;
  midstream: boolean;
}

/** 'more': cannot tell yet, ask again when more bytes arrived. */
export type Verdict = 'yes' | 'no' | 'more';

export interface TcpDissector {
  readonly name: string;
  /** Decide by content; ports are only a hint. Must be cheap and must not throw. */
  detect(probe: Probe): Verdict;
  create(ctx: StreamContext, init?: unknown): StreamParser;
}

export interface DatagramParser {
  onDatagram(dir: Dir, payload: Buffer, tsMicros: number): void;
  onEnd(tsMicros: number): void;
  /**
   * True when nothing is outstanding (every query answered): the parser can be ended now,
   * losing nothing, instead of living until its flow goes quiet (UdpFlows.settle). A parser
   * without it lives until then.
   */
  readonly settled?: boolean;
}

export interface UdpDissector {
  readonly name: string;
  detect(payload: Buffer, srcPort: number, dstPort: number): boolean;
  create(ctx: StreamContext): DatagramParser;
}
