// The assembler's bounds and their defaults. Every bound that is hit is counted in Stats
// under a `tcp.*` name and resolved by dropping or gap-skipping, never by growing. The total
// held across connections (buffers and the table itself) is the engine's memory budget's.

export interface TcpLimits {
  /** Connections tracked at once; when full the least recently active one is evicted. */
  maxConnections: number;
  /** Out-of-order bytes (with their per-segment overhead) buffered for one direction before skipping the hole with a gap. */
  maxBufferedPerDirection: number;
  /** Capture time (µs) without a packet after which a connection is flushed and forgotten. */
  idleTimeoutMicros: number;
}

export const defaultTcpLimits: TcpLimits = {
  maxConnections: 65536,
  maxBufferedPerDirection: 4 * 1024 * 1024,
  idleTimeoutMicros: 120_000_000,
};

/**
 * How long a closed 4-tuple is remembered so that late packets (the last ACK, a
 * retransmitted FIN) are ignored instead of opening a phantom midstream connection.
 * Linux keeps TIME_WAIT for 60 s; we never keep it longer than the idle timeout.
 */
export function closedTupleMemoryMicros(limits: TcpLimits): number {
  return Math.min(limits.idleTimeoutMicros, 60_000_000);
}

/** How often push() runs idle expiry by itself: every N packets or when capture time advanced this much. */
export const expireEveryPackets = 4096;
export const expireEveryMicros = 1_000_000;

/**
 * Memory one tracked connection costs while it is in the table, before anything it buffers:
 * the Connection and its two HalfStreams and SegmentBuffers, its key string and its table
 * entry, the ConnectionInfo, and the detecting parser with its probe arrays. Measured with
 * scripts/measure-memory-costs.ts: 2,045 bytes of heap per connection after GC (100,000
 * connections; 2,015 before the table kept the endpoints on the Connection, see tuple-table.ts).
 */
export const CONNECTION_COST = 2050;
