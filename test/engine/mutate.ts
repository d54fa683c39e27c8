// Seeded mutations of real captures for the robustness test. A case is a pure function of
// (seed, list of captures): pick a capture, cut a window of its records, apply one to four
// mutations, write the file back, split it into read chunks. Most mutations keep the
// pcap/pcapng framing and the IP/UDP length fields consistent, so the damage reaches the
// reassembler and the dissectors instead of stopping at the file reader or the decoder;
// a few corrupt the file framing itself (a CaptureFormatError is then a correct outcome).

import { Prng } from './robustness-prng.js';
import { serialize, type CaptureModel, type CaptureRecord, type PacketRecord } from './robustness-capture.js';

export interface MutationOptions {
  /** Packet bytes taken from one capture per case (a window of records), to keep cases cheap. */
  maxWindowBytes: number;
}

export interface MutatedCase {
  seed: number;
  capture: string;
  /** What was done, e.g. ["window 0..40/85", "flipPayload rec 12 +34 ^0x80"]. */
  mutations: string[];
  /** The mutated file, as the read chunks it is fed in. */
  chunks: Buffer[];
}

const MODEL_MUTATIONS = {
  flipPayload: 30,
  overwriteRun: 12,
  flipHeaders: 5,
  truncateFrame: 8,
  dropRecords: 6,
  duplicateRecord: 5,
  reorderRecords: 7,
  insertPayload: 10,
  splicePayload: 9,
  truncateFile: 6,
  corruptFileBytes: 3,
  corruptRecordHeader: 3,
} as const;
type MutationName = keyof typeof MODEL_MUTATIONS;

/** Largest IP payload a mutation may build (the 16-bit length fields must stay meaningful). */
const MAX_PAYLOAD = 60000;

export function makeCase(seed: number, captures: readonly CaptureModel[], options: MutationOptions): MutatedCase {
  const rng = new Prng(seed);
  const source = rng.pick(captures);
  const mutations: string[] = [];
  const model = windowOf(source, rng, options.maxWindowBytes, mutations);
  const count = rng.chance(0.6) ? 1 : rng.chance(0.6) ? 2 : rng.int(3, 4);
  const fileMutations: MutationName[] = [];
  for (let i = 0; i < count; i++) {
    const name = rng.weighted(MODEL_MUTATIONS);
    if (name === 'truncateFile' || name === 'corruptFileBytes' || name === 'corruptRecordHeader') fileMutations.push(name);
    else mutations.push(applyModelMutation(name, model, captures, rng));
  }
  const { bytes, recordOffsets } = serialize(model);
  let file = bytes;
  for (const name of fileMutations) {
    const result = applyFileMutation(name, file, recordOffsets, model, rng);
    file = result.file;
    mutations.push(result.description);
  }
  return { seed, capture: source.name, mutations, chunks: splitChunks(file, rng) };
}

/** A contiguous run of packet records (every non-packet block kept), copied so mutations never touch the source. */
function windowOf(source: CaptureModel, rng: Prng, maxBytes: number, log: string[]): CaptureModel {
  const packets = source.records.filter((r) => r.kind === 'packet').length;
  let total = 0;
  for (const r of source.records) if (r.kind === 'packet') total += r.data.length;
  let first = 0;
  let last = packets;
  if (total > maxBytes) {
    // Half the windows start at the beginning (handshakes seen), half mid-capture (midstream).
    first = rng.chance(0.5) ? 0 : rng.int(0, packets - 1);
    let bytes = 0;
    let index = 0;
    last = first;
    for (const r of source.records) {
      if (r.kind !== 'packet') continue;
      if (index >= first && bytes < maxBytes) {
        bytes += r.data.length;
        last = index + 1;
      }
      index++;
    }
    log.push(`window ${first}..${last}/${packets}`);
  }
  const records: CaptureRecord[] = [];
  let index = 0;
  for (const r of source.records) {
    if (r.kind === 'raw') {
      records.push(r);
      continue;
    }
    if (index >= first && index < last) records.push({ ...r, data: Buffer.from(r.data), layers: r.layers && { ...r.layers } });
    index++;
  }
  return { ...source, records };
}

function applyModelMutation(name: MutationName, model: CaptureModel, captures: readonly CaptureModel[], rng: Prng): string {
  const packets = packetIndexes(model);
  if (packets.length === 0) return `${name} skipped (no packets)`;
  const withPayload = packets.filter((i) => payloadLength(model.records[i]!) > 0);
  switch (name) {
    case 'flipPayload': {
      if (withPayload.length === 0) return flipHeaders(model, packets, rng);
      const flips = rng.int(1, 8);
      const done: string[] = [];
      for (let k = 0; k < flips; k++) {
        const i = rng.pick(withPayload);
        const rec = model.records[i] as PacketRecord;
        const at = rec.layers!.payloadOffset + rng.int(0, rec.layers!.payloadLength - 1);
        const mask = rng.chance(0.5) ? 1 << rng.int(0, 7) : rng.int(1, 255);
        rec.data[at]! ^= mask;
        done.push(`${i}+${at}^${mask.toString(16)}`);
      }
      return `flipPayload ${done.join(',')}`;
    }
    case 'overwriteRun': {
      const i = withPayload.length > 0 && rng.chance(0.8) ? rng.pick(withPayload) : rng.pick(packets);
      const rec = model.records[i] as PacketRecord;
      if (rec.data.length === 0) return 'overwriteRun skipped (empty frame)';
      const inPayload = rec.layers !== undefined && rec.layers.payloadLength > 0;
      const start = inPayload ? rec.layers!.payloadOffset + rng.int(0, rec.layers!.payloadLength - 1) : rng.int(0, rec.data.length - 1);
      const length = Math.min(rng.int(1, 64), rec.data.length - start);
      const fill = rng.chance(0.3) ? Buffer.alloc(length, rng.byte()) : rng.bytes(length);
      fill.copy(rec.data, start);
      return `overwriteRun rec ${i} @${start} len ${length}`;
    }
    case 'flipHeaders':
      return flipHeaders(model, packets, rng);
    case 'truncateFrame': {
      const i = rng.pick(packets);
      const rec = model.records[i] as PacketRecord;
      const length = rng.int(0, Math.max(0, rec.data.length - 1));
      const snaplenLike = rng.chance(0.6);
      rec.data = rec.data.subarray(0, length);
      if (!snaplenLike) rec.origLen = length;
      if (rec.layers) {
        if (length < rec.layers.payloadOffset) rec.layers = undefined;
        else rec.layers.payloadLength = Math.min(rec.layers.payloadLength, length - rec.layers.payloadOffset);
      }
      return `truncateFrame rec ${i} to ${length}${snaplenLike ? ' (snaplen)' : ''}`;
    }
    case 'dropRecords': {
      const dropped: number[] = [];
      if (rng.chance(0.5)) {
        const start = rng.pick(packets);
        const run = rng.int(1, 5);
        for (const i of packets) if (i >= start && dropped.length < run) dropped.push(i);
      } else {
        for (let k = rng.int(1, 3); k > 0; k--) dropped.push(rng.pick(packets));
      }
      const drop = new Set(dropped);
      model.records = model.records.filter((_, i) => !drop.has(i));
      return `dropRecords ${[...drop].join(',')}`;
    }
    case 'duplicateRecord': {
      const i = rng.pick(packets);
      const rec = model.records[i] as PacketRecord;
      const at = rng.chance(0.5) ? i + 1 : rng.int(i + 1, model.records.length);
      model.records.splice(at, 0, { ...rec, data: Buffer.from(rec.data), layers: rec.layers && { ...rec.layers } });
      return `duplicateRecord ${i} at ${at}`;
    }
    case 'reorderRecords': {
      if (packets.length < 2) return 'reorderRecords skipped (one packet)';
      const a = rng.int(0, packets.length - 2);
      const b = Math.min(packets.length - 1, a + rng.int(1, 8));
      if (rng.chance(0.5)) {
        const [ia, ib] = [packets[a]!, packets[b]!];
        [model.records[ia], model.records[ib]] = [model.records[ib]!, model.records[ia]!];
        return `swapRecords ${ia},${ib}`;
      }
      const slots = packets.slice(a, b + 1);
      const reversed = slots.map((i) => model.records[i]!).reverse();
      slots.forEach((slot, k) => (model.records[slot] = reversed[k]!));
      return `reverseRecords ${slots[0]}..${slots[slots.length - 1]}`;
    }
    case 'insertPayload': {
      const annotated = packets.filter((i) => (model.records[i] as PacketRecord).layers !== undefined);
      if (annotated.length === 0) return 'insertPayload skipped (no TCP/UDP)';
      const i = rng.pick(annotated);
      const rec = model.records[i] as PacketRecord;
      const at = rng.int(0, rec.layers!.payloadLength);
      const inserted = rng.bytes(rng.int(1, 64));
      const shift = rng.chance(0.7);
      resizePayload(model, i, at, 0, inserted, shift);
      return `insertPayload rec ${i} +${at} len ${inserted.length}${shift ? ' seq-shifted' : ''}`;
    }
    case 'splicePayload': {
      const donor = rng.pick(captures);
      const donors = donor.records.filter((r): r is PacketRecord => r.kind === 'packet' && (r.layers?.payloadLength ?? 0) > 0);
      const annotated = packets.filter((i) => (model.records[i] as PacketRecord).layers !== undefined);
      if (donors.length === 0 || annotated.length === 0) return 'splicePayload skipped (no payloads)';
      const from = rng.pick(donors);
      const start = rng.chance(0.5) ? 0 : rng.int(0, from.layers!.payloadLength - 1);
      const end = rng.chance(0.5) ? from.layers!.payloadLength : rng.int(start + 1, from.layers!.payloadLength);
      const piece = from.data.subarray(from.layers!.payloadOffset + start, from.layers!.payloadOffset + end);
      const i = rng.pick(annotated);
      const rec = model.records[i] as PacketRecord;
      const replace = rng.chance(0.5);
      const at = replace ? 0 : rng.int(0, rec.layers!.payloadLength);
      resizePayload(model, i, at, replace ? rec.layers!.payloadLength : 0, piece, true);
      return `splicePayload ${donor.name} [${start},${end}) into rec ${i} ${replace ? 'replacing' : `at +${at}`}`;
    }
    default:
      return `${name} not a model mutation`;
  }
}

/** Bit flips in link, IP and transport headers: exercises the decoder and the assembler's sequence logic. */
function flipHeaders(model: CaptureModel, packets: number[], rng: Prng): string {
  const i = rng.pick(packets);
  const rec = model.records[i] as PacketRecord;
  const headerEnd = rec.layers ? rec.layers.payloadOffset : rec.data.length;
  if (headerEnd === 0) return `flipHeaders skipped (rec ${i} empty)`;
  const done: string[] = [];
  for (let k = rng.int(1, 3); k > 0; k--) {
    const at = rng.int(0, headerEnd - 1);
    const mask = 1 << rng.int(0, 7);
    rec.data[at]! ^= mask;
    done.push(`${at}^${mask.toString(16)}`);
  }
  return `flipHeaders rec ${i} ${done.join(',')}`;
}

/**
 * Replaces `remove` payload bytes at payload offset `at` with `insert`, keeping the IP and
 * UDP length fields right; with `shiftSeq`, later TCP segments of the flow move by the
 * size change (and the reverse direction's acks), so the stream stays contiguous.
 */
function resizePayload(model: CaptureModel, index: number, at: number, remove: number, insert: Buffer, shiftSeq: boolean): void {
  const rec = model.records[index] as PacketRecord;
  const layers = rec.layers!;
  const allowed = Math.max(0, MAX_PAYLOAD - (layers.payloadLength - remove));
  const piece = insert.length > allowed ? insert.subarray(0, allowed) : insert;
  const start = layers.payloadOffset + at;
  const delta = piece.length - remove;
  rec.data = Buffer.concat([rec.data.subarray(0, start), piece, rec.data.subarray(start + remove)]);
  rec.origLen = Math.max(rec.data.length, rec.origLen + delta);
  layers.payloadLength += delta;
  const data = rec.data;
  if (layers.ipVersion === 4) {
    const total = data.readUInt16BE(layers.ipOffset + 2);
    if (total !== 0) data.writeUInt16BE((total + delta) & 0xffff, layers.ipOffset + 2);
  } else if (data.length >= layers.ipOffset + 6) {
    data.writeUInt16BE((data.readUInt16BE(layers.ipOffset + 4) + delta) & 0xffff, layers.ipOffset + 4);
  }
  if (layers.transport === 'udp') data.writeUInt16BE((data.readUInt16BE(layers.transportOffset + 4) + delta) & 0xffff, layers.transportOffset + 4);
  if (!shiftSeq || layers.transport !== 'tcp' || delta === 0) return;
  for (let j = index + 1; j < model.records.length; j++) {
    const later = model.records[j]!;
    if (later.kind !== 'packet' || later.layers?.transport !== 'tcp') continue;
    const field = later.layers.flow === layers.flow ? 4 : later.layers.flow === layers.reverseFlow ? 8 : -1;
    if (field < 0) continue;
    const at32 = later.layers.transportOffset + field;
    later.data.writeUInt32BE((later.data.readUInt32BE(at32) + delta) >>> 0, at32);
  }
}

function applyFileMutation(name: MutationName, file: Buffer, recordOffsets: number[], model: CaptureModel, rng: Prng): { file: Buffer; description: string } {
  if (file.length === 0) return { file, description: `${name} skipped (empty file)` };
  switch (name) {
    case 'truncateFile': {
      const at = rng.int(0, file.length - 1);
      return { file: file.subarray(0, at), description: `truncateFile at ${at}/${file.length}` };
    }
    case 'corruptRecordHeader': {
      if (recordOffsets.length === 0) return { file, description: 'corruptRecordHeader skipped (no records)' };
      const i = rng.int(0, recordOffsets.length - 1);
      // pcap: incl_len or orig_len; pcapng: block length, or an EPB's captured/original length.
      const fields = model.format === 'pcap' ? [8, 12] : [4, 20, 24];
      const at = recordOffsets[i]! + rng.pick(fields);
      if (at + 4 > file.length) return { file, description: 'corruptRecordHeader skipped (past the end)' };
      const copy = Buffer.from(file);
      const value = rng.chance(0.5) ? rng.int(0, 0xffffffff) : rng.int(0, 70000);
      copy.writeUInt32LE(value >>> 0, at);
      return { file: copy, description: `corruptRecordHeader rec ${i} @${at} = ${value}` };
    }
    default: {
      const copy = Buffer.from(file);
      const done: number[] = [];
      for (let k = rng.int(1, 4); k > 0; k--) {
        const at = rng.int(0, copy.length - 1);
        copy[at] = rng.byte();
        done.push(at);
      }
      return { file: copy, description: `corruptFileBytes @${done.join(',')}` };
    }
  }
}

/** Half the cases arrive in one chunk; the rest in 2 to 8 chunks cut at random points, as a pipe would deliver them. */
function splitChunks(file: Buffer, rng: Prng): Buffer[] {
  if (file.length < 2 || rng.chance(0.5)) return [file];
  const cuts = new Set<number>();
  for (let k = rng.int(1, 7); k > 0; k--) cuts.add(rng.int(1, file.length - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of sorted) {
    chunks.push(file.subarray(from, cut));
    from = cut;
  }
  chunks.push(file.subarray(from));
  return chunks;
}

function packetIndexes(model: CaptureModel): number[] {
  const out: number[] = [];
  model.records.forEach((r, i) => {
    if (r.kind === 'packet') out.push(i);
  });
  return out;
}

function payloadLength(record: CaptureRecord): number {
  return record.kind === 'packet' ? (record.layers?.payloadLength ?? 0) : 0;
}
