// Kafka record sets as they travel in Produce requests and Fetch responses: record batches
// (magic 2, Kafka >= 0.11) and the legacy message sets (magic 0 and 1). Written here rather
// than taken from a client library because kafkajs's decoder needs its whole client runtime
// and throws on truncated batches, which Fetch responses legitimately end with. Compressed
// records (gzip, snappy, lz4, zstd: compression.ts) are inflated with the cap the other
// protocols' content decoding uses.
import { renderBody, renderBodyRange, type RenderedBody } from '../body.js';
import { MAX_DECODED_BYTES } from '../content-decoding.js';
import { CODECS, inflateRecords } from './compression.js';
import { KafkaDecodeError, KafkaReader } from './reader.js';

/** Largest inflated record set we accept; beyond it the set is reported compressed. */
const maxInflated = MAX_DECODED_BYTES;

export interface KafkaRecord {
  offset: number;
  /** Milliseconds since the epoch; absent for magic-0 messages, which carry none. */
  timestamp?: number;
  key: RenderedBody | null;
  value: RenderedBody | null;
  headers?: Record<string, string>;
}

export interface RecordSet {
  codec: string;
  /** Records counted (including those not kept). */
  recordCount: number;
  records: KafkaRecord[];
  /** Bytes of record data left compressed (codec we do not inflate, or over the cap). */
  compressedBytes?: number;
  /** The set ended inside a batch (normal at the end of a Fetch response). */
  partialBatch?: true;
}

/** Shared per entry: how many more records may be kept, and what we count when over. */
export interface RecordBudget {
  left: number;
  maxBody: number;
  dropped: number;
  inflateTooLarge: number;
}

export function decodeRecordSet(data: Buffer, budget: RecordBudget): RecordSet {
  const set: RecordSet = { codec: 'none', recordCount: 0, records: [] };
  const r = new KafkaReader(data);
  while (r.remaining >= 17) {
    const start = r.pos;
    const baseOffset = r.int64();
    const length = r.int32();
    if (length < 0 || length > r.remaining) {
      set.partialBatch = true;
      break;
    }
    const end = r.pos + length;
    const magic = data.length > start + 16 ? data.readInt8(start + 16) : -1;
    const inner = new KafkaReader(data, r.pos, end);
    try {
      if (magic === 2) decodeBatch(inner, baseOffset, set, budget);
      else if (magic === 0 || magic === 1) decodeLegacyMessage(inner, baseOffset, magic, set, budget, 0);
      else throw new KafkaDecodeError(`unknown record magic ${magic}`);
    } catch (err) {
      if (!(err instanceof KafkaDecodeError)) throw err;
      set.partialBatch = true;
      break;
    }
    r.pos = end;
  }
  if (r.remaining > 0 && r.remaining < 17) set.partialBatch = true;
  return set;
}

function keep(set: RecordSet, budget: RecordBudget, record: KafkaRecord): void {
  set.recordCount += 1;
  if (budget.left > 0) {
    budget.left -= 1;
    set.records.push(record);
  } else {
    budget.dropped += 1;
  }
}

function render(bytes: Buffer | null, maxBody: number): RenderedBody | null {
  return bytes === null ? null : renderBody(bytes, maxBody);
}

function inflate(codec: number, bytes: Buffer, set: RecordSet, budget: RecordBudget): Buffer | null {
  set.codec = CODECS[codec] ?? `codec-${codec}`;
  const inflated = inflateRecords(codec, bytes, maxInflated);
  if (inflated.ok) return inflated.bytes;
  if (inflated.tooLarge) budget.inflateTooLarge += 1;
  set.compressedBytes = (set.compressedBytes ?? 0) + bytes.length;
  return null;
}

/** Record batch v2: the header after baseOffset/length, then records (maybe compressed). */
function decodeBatch(r: KafkaReader, baseOffset: number, set: RecordSet, budget: RecordBudget): void {
  r.int32(); // partitionLeaderEpoch
  r.int8(); // magic
  r.uint32(); // crc
  const attributes = r.int16();
  r.int32(); // lastOffsetDelta
  const baseTimestamp = r.int64();
  r.int64(); // maxTimestamp
  r.int64(); // producerId
  r.int16(); // producerEpoch
  r.int32(); // baseSequence
  const count = r.int32();
  const codec = attributes & 0x07;
  let records = r;
  if (codec !== 0) {
    const inflated = inflate(codec, r.buf.subarray(r.pos, r.end), set, budget);
    if (inflated === null) {
      set.recordCount += Math.max(0, count);
      return;
    }
    records = new KafkaReader(inflated);
  }
  // One cursor for every record of the batch, bounded to the record it reads; keys, values
  // and headers are rendered from the batch's bytes in place, and only for records kept
  // (records past the entry's limit are counted, as before, without their text).
  const buf = records.buf;
  const rr = new KafkaReader(buf, 0, 0);
  for (let i = 0; i < count && records.remaining > 0; i++) {
    const len = records.varint();
    const recEnd = records.pos + len;
    if (len < 0 || recEnd > records.end) throw new KafkaDecodeError('record overruns its batch');
    rr.pos = records.pos;
    rr.end = recEnd;
    rr.int8(); // attributes
    const timestampDelta = rr.varlong();
    const offsetDelta = rr.varint();
    const kept = budget.left > 0;
    const keyLength = rr.varBytesLength();
    const key = keyLength < 0 || !kept ? null : renderBodyRange(buf, rr.pos, rr.pos + keyLength, budget.maxBody);
    if (keyLength > 0) rr.skip(keyLength);
    const valueLength = rr.varBytesLength();
    const value = valueLength < 0 || !kept ? null : renderBodyRange(buf, rr.pos, rr.pos + valueLength, budget.maxBody);
    if (valueLength > 0) rr.skip(valueLength);
    const headerCount = rr.varint();
    if (headerCount < 0 || headerCount * 2 > rr.remaining) throw new KafkaDecodeError('bad header count');
    let headers: Record<string, string> | undefined;
    for (let h = 0; h < headerCount; h++) {
      const name = rr.varBytes()?.toString('utf8') ?? '';
      const hv = rr.varBytes();
      if (!kept) continue;
      headers ??= {};
      headers[name] = hv === null ? '' : (render(hv, budget.maxBody)?.body ?? '');
    }
    records.pos = recEnd;
    if (!kept) {
      set.recordCount += 1;
      budget.dropped += 1;
      continue;
    }
    const record: KafkaRecord = {
      offset: baseOffset + offsetDelta,
      timestamp: baseTimestamp + timestampDelta,
      key,
      value,
    };
    if (headers) record.headers = headers;
    keep(set, budget, record);
  }
}

/** Legacy message (magic 0/1); a compressed wrapper holds an inner message set. */
function decodeLegacyMessage(
  r: KafkaReader,
  offset: number,
  magic: number,
  set: RecordSet,
  budget: RecordBudget,
  depth: number,
): void {
  r.uint32(); // crc
  r.int8(); // magic
  const attributes = r.int8();
  const timestamp = magic === 1 ? r.int64() : -1;
  const key = r.bytes(false);
  const value = r.bytes(false);
  const codec = attributes & 0x07;
  if (codec === 0 || depth > 0) {
    const record: KafkaRecord = { offset, key: render(key, budget.maxBody), value: render(value, budget.maxBody) };
    if (timestamp >= 0) record.timestamp = timestamp;
    keep(set, budget, record);
    return;
  }
  const inflated = value === null ? null : inflate(codec, value, set, budget);
  if (inflated === null) {
    set.recordCount += 1;
    return;
  }
  const inner = new KafkaReader(inflated);
  while (inner.remaining >= 12) {
    const innerOffset = inner.int64();
    const size = inner.int32();
    if (size < 0 || size > inner.remaining) break;
    const m = new KafkaReader(inflated, inner.pos, inner.pos + size);
    const innerMagic = size > 4 ? inflated.readInt8(inner.pos + 4) : -1;
    decodeLegacyMessage(m, innerOffset, innerMagic === 1 ? 1 : 0, set, budget, depth + 1);
    inner.pos += size;
  }
}
