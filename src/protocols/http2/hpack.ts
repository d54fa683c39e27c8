// One HPACK decoding context (RFC 7541) for one direction of one connection: our reader of
// integers and strings (hpack-wire.ts) and hpack.js's dynamic table. Not hpack.js's
// Decompressor: that one is a stream.Duplex (one object push per header and a nextTick per
// block), which costs more than the decoding, and a passive decoder must survive a table it
// does not know.
//
// Unknown table: when the capture joined the connection late, or a header block was lost to
// a gap, entries already in the peer's dynamic table are unknown to us. We then keep a table
// of only the entries we saw being added (exact, since eviction is oldest-first and the
// unknown ones are older) and remember that an unknown number of older entries may follow
// them. A reference into that unknown tail makes the block incomplete; the field is left
// out rather than guessed. The table is trusted again once every unknown entry must have been
// evicted: when entries we saw being added since the reset total at least the table's
// maximum size, or when a dynamic table size update to 0 empties it.

import hpack from 'hpack.js';
import type { HpackTable } from 'hpack.js';
import { HpackReader } from './hpack-wire.js';
import type { Fields } from './stream.js';

const STATIC_LENGTH = hpack['static-table'].table.length;
export const DEFAULT_TABLE_SIZE = 4096;
/** Heap bytes an entry of the dynamic table takes beyond its RFC size (see heldBytes). */
const ENTRY_OVERHEAD = 64;

/**
 * Decoded header list size we keep per block (RFC 9113 section 6.5.2 sizes: name + value +
 * 32 per field), as SETTINGS_MAX_HEADER_LIST_SIZE bounds it for an endpoint; the same 64 KiB
 * an HTTP/1 head may take. HPACK lets a block of a few bytes per field reference a 4 KB table
 * entry thousands of times: beyond this, fields are counted, not kept.
 */
export const MAX_HEADER_LIST_SIZE = 64 * 1024;

export interface DecodedBlock {
  /** Name, value, name, value... in order (stream.ts's Fields); names are lower case per RFC 9113. */
  fields: Fields;
  /** Some fields referenced table entries we do not know and were left out. */
  incomplete: boolean;
  /** How many: each is counted (http2.headerFieldsUnknown), none is guessed. */
  unknownFields: number;
  /** Fields past MAX_HEADER_LIST_SIZE, decoded (the table stays in step) but not kept. */
  droppedFields: number;
  /** Their decoded size (name + value + 32 each). */
  droppedBytes: number;
}

export class HpackContext {
  private table: HpackTable;
  /** Older dynamic entries may exist that we never saw (see header comment). */
  private unknownTail: boolean;
  /** Bytes of entries added since the table became partly unknown. */
  private knownBytesSinceReset = 0;
  /** SETTINGS_HEADER_TABLE_SIZE last acknowledged for this direction's decoder. */
  private settingsMax = DEFAULT_TABLE_SIZE;

  constructor(trusted: boolean) {
    this.table = hpack.table.create({ maxSize: DEFAULT_TABLE_SIZE });
    this.unknownTail = !trusted;
  }

  get trusted(): boolean {
    return !this.unknownTail;
  }

  /**
   * What the dynamic table holds, honestly estimated: its RFC 7541 size (name + value + 32 an
   * entry) plus 64 bytes an entry for the entry object and its slot. Measured: 40 entries of
   * 98 RFC bytes each (a full default table) cost 5.9 KB of heap a connection, this says 6.5 KB.
   */
  get heldBytes(): number {
    return this.table.size + ENTRY_OVERHEAD * (this.table.length - STATIC_LENGTH);
  }

  /** Header blocks of this direction were lost: forget the table (see header comment). */
  distrust(): void {
    this.table = hpack.table.create({ maxSize: this.settingsMax });
    this.table.maxSize = Math.min(this.settingsMax, DEFAULT_TABLE_SIZE);
    this.unknownTail = true;
    this.knownBytesSinceReset = 0;
  }

  /**
   * The decoder's SETTINGS_HEADER_TABLE_SIZE was acknowledged: it bounds later size updates,
   * and a smaller value shrinks the table at once (as nghttp2's inflater does).
   */
  applySettingsTableSize(size: number): void {
    this.settingsMax = size;
    this.table.protocolMaxSize = size;
    if (this.table.maxSize > size) {
      this.table.maxSize = size;
      this.table.evict();
    }
  }

  /**
   * Decodes one complete header block, keeping fields up to `maxListSize` (see
   * MAX_HEADER_LIST_SIZE). Throws on malformed input (the caller counts it).
   */
  decode(block: Buffer, maxListSize = MAX_HEADER_LIST_SIZE): DecodedBlock {
    const reader = new HpackReader(block);
    const out: DecodedBlock = { fields: [], incomplete: false, unknownFields: 0, droppedFields: 0, droppedBytes: 0 };
    const fields = out.fields;
    let listSize = 0;
    /** Keeps a field while the list is within its limit; once a field did not fit, none is kept. */
    const keep = (name: string, nameSize: number, value: string, valueSize: number): void => {
      const size = nameSize + valueSize + 32;
      if (out.droppedFields === 0 && listSize + size <= maxListSize) {
        listSize += size;
        fields.push(name, value);
      } else {
        out.droppedFields += 1;
        out.droppedBytes += size;
      }
    };
    const table = this.table;
    while (!reader.done) {
      const first = reader.peek();
      // 1xxxxxxx: an indexed field (RFC 7541 section 6.1).
      if ((first & 0x80) !== 0) {
        const entry = this.lookup(reader.int(7));
        if (entry === undefined) {
          out.incomplete = true;
          out.unknownFields += 1;
        } else keep(entry.name, entry.nameSize, entry.value, entry.totalSize - entry.nameSize - 32);
        continue;
      }
      // 001xxxxx: a dynamic table size update (section 6.3).
      if ((first & 0xe0) === 0x20) {
        this.resize(reader.int(5));
        continue;
      }
      // 01xxxxxx: a literal added to the table; 0000xxxx / 0001xxxx: without indexing or
      // never indexed (that flag is irrelevant to a reader) (section 6.2).
      const incremental = (first & 0x40) !== 0;
      const index = reader.int(incremental ? 6 : 4);
      let name: string | undefined;
      let nameSize = 0;
      if (index === 0) {
        const literal = reader.str();
        name = literal.text;
        nameSize = literal.octets;
      } else {
        const entry = this.lookup(index);
        if (entry !== undefined) {
          name = entry.name;
          nameSize = entry.nameSize;
        }
      }
      const value = reader.str();
      if (name === undefined) {
        out.incomplete = true;
        out.unknownFields += 1;
        // We cannot size the new entry, so the table's contents are unknown again.
        if (incremental) this.distrust();
        continue;
      }
      keep(name, nameSize, value.text, value.octets);
      if (incremental) {
        table.add(name, value.text, nameSize, value.octets);
        if (this.unknownTail) {
          this.knownBytesSinceReset += nameSize + value.octets + 32;
          if (this.knownBytesSinceReset >= this.table.maxSize) this.unknownTail = false;
        }
      }
    }
    return out;
  }

  /** An entry, or undefined when the index points into the unknown tail of the table. */
  private lookup(index: number): { name: string; value: string; nameSize: number; totalSize: number } | undefined {
    if (index === 0) throw new Error('HPACK index 0');
    if (index <= this.table.length) return this.table.lookup(index);
    if (this.unknownTail) return undefined;
    throw new Error(`HPACK index ${index} beyond the table (${this.table.length})`);
  }

  private resize(size: number): void {
    if (size > this.table.protocolMaxSize) {
      if (!this.unknownTail) throw new Error(`HPACK table size update ${size} above the limit ${this.table.protocolMaxSize}`);
      // We may have missed the SETTINGS that allowed it.
      this.table.protocolMaxSize = size;
    }
    this.table.maxSize = size;
    this.table.evict();
    if (size === 0) this.unknownTail = false;
    else if (this.unknownTail && this.knownBytesSinceReset >= size) this.unknownTail = false;
  }
}
