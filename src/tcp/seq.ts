// TCP sequence-number arithmetic modulo 2^32 (RFC 793 / RFC 1982 serial arithmetic).
// Sequence numbers are kept as unsigned 32-bit integers in plain JS numbers; comparisons go
// through the signed 32-bit difference, so they stay right across wraparound as long as the
// two numbers are less than 2^31 apart (always true inside one TCP window).

/** Signed distance from `b` to `a`: > 0 when `a` is after `b`. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `seq + n`, wrapped to an unsigned 32-bit sequence number. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) >>> 0;
}
