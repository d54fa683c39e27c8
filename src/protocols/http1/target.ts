// Splits a request-target into path and query, and decodes the query into an object
// (repeated keys become arrays). A hand loop instead of URLSearchParams: it runs once per
// request and only percent-decodes the pieces that need it.

import { setField } from './head.js';

export type Query = Record<string, string | string[]>;

export function splitTarget(target: string): { path: string; rawQuery: string | null } {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, rawQuery: null } : { path: target.slice(0, q), rawQuery: target.slice(q + 1) };
}

export function parseQuery(raw: string | null): Query {
  const query: Query = {};
  if (raw === null || raw === '') return query;
  let start = 0;
  while (start <= raw.length) {
    let amp = raw.indexOf('&', start);
    if (amp === -1) amp = raw.length;
    if (amp > start) {
      const eq = raw.indexOf('=', start);
      const hasValue = eq !== -1 && eq < amp;
      const key = decodeComponent(raw.slice(start, hasValue ? eq : amp));
      const value = hasValue ? decodeComponent(raw.slice(eq + 1, amp)) : '';
      const previous = query[key];
      if (previous === undefined || !Object.prototype.hasOwnProperty.call(query, key)) setField(query, key, value);
      else if (Array.isArray(previous)) previous.push(value);
      else query[key] = [previous, value];
    }
    start = amp + 1;
  }
  return query;
}

/** application/x-www-form-urlencoded decoding; a malformed escape leaves the text as sent. */
function decodeComponent(text: string): string {
  const plus = text.includes('+');
  if (!plus && !text.includes('%')) return text;
  const spaced = plus ? text.replaceAll('+', ' ') : text;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
