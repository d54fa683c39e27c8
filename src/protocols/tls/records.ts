// TLS record headers (RFC 8446 section 5.1, RFC 5246 section 6.2): content type (1 byte),
// legacy version (2), length (2). A connection the capture joined after its handshake shows
// only records, most of them encrypted application data. Five bytes alone prove little, so
// a stream is believed to be TLS only when a chain of well-formed headers, each where the
// previous record's length says, accounts for every byte up to the end of what was seen.

/** change_cipher_spec, alert, handshake, application_data (heartbeat, 24, is not accepted). */
const FIRST_TYPE = 20;
const LAST_TYPE = 23;
export const RECORD_HEADER = 5;
/** TLSCiphertext may be 2^14 + 2048 bytes (TLS 1.2; 1.3 allows 2^14 + 256); longer is not TLS. */
export const MAX_RECORD = 16384 + 2048;
/** Offsets tried for the first record boundary: joining inside the largest record still finds the next. */
export const BOUNDARY_SCAN = RECORD_HEADER + MAX_RECORD;

export const CONTENT_TYPE_NAMES: Record<number, string> = {
  20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data',
};

/**
 * Whether the (up to five) bytes at `at` can start a record header: a known content type,
 * major version 3, minor 1-4 (TLS 1.0-1.3; SSL 3.0 is not believed), a non-zero length no
 * longer than MAX_RECORD. Bytes missing at the end of `buf` are not held against it.
 */
export function plausibleHeader(buf: Buffer, at: number): boolean {
  const have = buf.length - at;
  if (have <= 0) return false;
  if (buf[at] < FIRST_TYPE || buf[at] > LAST_TYPE) return false;
  if (have > 1 && buf[at + 1] !== 3) return false;
  if (have > 2 && (buf[at + 2] < 1 || buf[at + 2] > 4)) return false;
  if (have >= RECORD_HEADER) {
    const len = buf.readUInt16BE(at + 3);
    if (len === 0 || len > MAX_RECORD) return false;
  }
  return true;
}

export interface RecordChain {
  /** Offset of the first record of the chain. */
  at: number;
  /** Whole records in the chain (a last record cut short by the end of the bytes is not counted). */
  records: number;
}

/**
 * The chain of records starting at `at`, when it accounts for every byte to the end of `buf`
 * (whole records, then at most one record or header cut short by the end); null otherwise.
 */
export function chainFrom(buf: Buffer, at: number): RecordChain | null {
  let pos = at;
  let records = 0;
  while (pos < buf.length) {
    if (!plausibleHeader(buf, pos)) return null;
    if (buf.length - pos < RECORD_HEADER) break; // a header cut short
    const end = pos + RECORD_HEADER + buf.readUInt16BE(pos + 3);
    if (end > buf.length) break; // a record cut short
    records += 1;
    pos = end;
  }
  return { at, records };
}

/**
 * The first record boundary of bytes joined mid-stream. Segments usually begin at a record
 * boundary, where one whole record is enough (with every later byte accounted for); a chain
 * found further in, where the capture began inside a record, needs two whole records.
 */
export function findRecordBoundary(buf: Buffer): RecordChain | null {
  const limit = Math.min(buf.length, BOUNDARY_SCAN);
  for (let at = 0; at < limit; at++) {
    if (buf[at] < FIRST_TYPE || buf[at] > LAST_TYPE) continue;
    const chain = chainFrom(buf, at);
    if (chain !== null && chain.records >= (at === 0 ? 1 : 2)) return chain;
  }
  return null;
}
