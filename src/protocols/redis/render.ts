// Turns parsed RESP values into the JSON an entry carries (`response.type`, `response.value`)
// and into the short text of a summary. Bounded: strings are cut at --max-body bytes and
// aggregates at MAX_RENDERED_ELEMENTS; whatever is cut is flagged and counted.

import type { Stats } from '../../stats.js';
import { isText, textOfRange } from '../body.js';
import type { Resp } from './resp.js';

/** Elements of one array, set, push or map kept in an entry; the rest are counted. */
export const MAX_RENDERED_ELEMENTS = 1000;

export interface RenderState {
  maxBody: number;
  stats: Stats;
  /** Set when a string was cut at maxBody or an aggregate at MAX_RENDERED_ELEMENTS. */
  truncated: boolean;
  /** Set when a string was not text and is given as base64. */
  binary: boolean;
}

/** A binary-safe string: UTF-8 text as is, anything else base64 (flagged on the state). */
export function bytesToString(bytes: Buffer, state: RenderState): string {
  return rangeToString(bytes, 0, bytes.length, state);
}

/** bytesToString of bytes[start, end), without a view of it. */
export function rangeToString(bytes: Buffer, start: number, end: number, state: RenderState): string {
  if (end - start > state.maxBody) {
    end = start + state.maxBody;
    state.truncated = true;
    state.stats.add('redis.valueTruncated');
  }
  const text = textOfRange(bytes, start, end);
  if (text !== null) return text;
  state.binary = true;
  return bytes.toString('base64', start, end);
}

export function renderValue(v: Resp, state: RenderState): unknown {
  switch (v.kind) {
    case 'simple-string':
    case 'bulk-string':
    case 'big-number':
      return bytesToString(v.bytes, state);
    case 'verbatim-string':
      // "txt:" / "mkd:" format prefix; the text is what follows it.
      return bytesToString(v.bytes.length >= 4 && v.bytes[3] === 0x3a ? v.bytes.subarray(4) : v.bytes, state);
    case 'error':
    case 'bulk-error':
      return { error: bytesToString(v.bytes, state) };
    case 'integer':
    case 'double':
    case 'boolean':
      return v.value;
    case 'null':
      return null;
    case 'array':
    case 'set':
    case 'push':
      return capped(v.items, state).map((item) => renderValue(item, state));
    case 'map':
      return renderMap(v.entries, state);
  }
}

export function renderMap(entries: Array<[Resp, Resp]>, state: RenderState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of capped(entries, state)) {
    const key = renderValue(k, state);
    out[typeof key === 'string' ? key : JSON.stringify(key)] = renderValue(val, state);
  }
  return out;
}

function capped<T>(items: T[], state: RenderState): T[] {
  if (items.length <= MAX_RENDERED_ELEMENTS) return items;
  state.truncated = true;
  state.stats.add('redis.valueElementsDropped', items.length - MAX_RENDERED_ELEMENTS);
  return items.slice(0, MAX_RENDERED_ELEMENTS);
}

/** The reply as a summary shows it: `OK`, `42`, `"alice"`, `(nil)`, `[3]`, `{2}`, `ERR ...`. */
export function shortText(v: Resp): string {
  switch (v.kind) {
    case 'simple-string':
    case 'error':
    case 'bulk-error':
      return clip(v.bytes.toString('utf8', 0, 80));
    case 'bulk-string':
    case 'verbatim-string': {
      const text = v.kind === 'verbatim-string' && v.bytes[3] === 0x3a ? v.bytes.subarray(4) : v.bytes;
      const head = text.subarray(0, 40);
      return isText(head) ? `"${clip(head.toString('utf8'))}${text.length > 40 ? '…' : ''}"` : `<${text.length} bytes>`;
    }
    case 'big-number':
      return v.bytes.toString('latin1');
    case 'integer':
    case 'double':
    case 'boolean':
      return String(v.value);
    case 'null':
      return '(nil)';
    case 'array':
    case 'set':
    case 'push':
      return `[${v.items.length}]`;
    case 'map':
      return `{${v.entries.length}}`;
  }
}

function clip(text: string): string {
  // Most replies have no line break: the test is cheaper than a replace that finds none.
  const oneLine = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]+/g, ' ') : text;
  return oneLine.length > 40 ? `${oneLine.slice(0, 40)}…` : oneLine;
}
