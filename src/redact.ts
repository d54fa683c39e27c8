// Redaction, on by default: credentials never leave the tapper in clear. Header values
// (request and response headers, trailers) whose name is in the redact set, and values of
// sensitive keys in JSON bodies, form bodies and query strings become "[REDACTED]".
// Protocol-specific secrets (Redis AUTH, HELLO) are redacted by their dissectors.

import type { Entry } from './entry.js';

export const REDACTED = '[REDACTED]';

export const DEFAULT_REDACTED_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
];

/**
 * A key is sensitive when, lower-cased and without '-', '_' and '.', it contains one of
 * these. Containment rather than equality catches `user_password`, `accessToken`,
 * `client-secret`; it also catches harmless keys like `tokenCount`, which we accept:
 * a viewer that over-redacts is a nuisance, one that leaks a password is a breach.
 */
const SENSITIVE_KEY_PARTS = ['password', 'passwd', 'secret', 'token', 'apikey', 'privatekey', 'credential'];

/** Matches any text that contains a sensitive key, before separators are removed. */
const SENSITIVE_HINT = /pass|secret|token|key|credential|\\u/i;

export function isSensitiveKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_.]/g, '');
  return SENSITIVE_KEY_PARTS.some((part) => k.includes(part));
}

export function redactEntry(entry: Entry, headerNames: ReadonlySet<string>): void {
  redactSide(entry.request, headerNames);
  if (entry.response) redactSide(entry.response, headerNames);
}

function redactSide(side: Record<string, unknown>, headerNames: ReadonlySet<string>): void {
  redactHeaderMap(side.headers, headerNames);
  redactHeaderMap(side.trailers, headerNames);
  if (side.query && typeof side.query === 'object') redactKeys(side.query as Record<string, unknown>);
  if (typeof side.body === 'string' && side.bodyEncoding === undefined) {
    const contentType = headerValue(side.headers, 'content-type');
    const redacted = redactBodyText(side.body, contentType);
    if (redacted !== null) side.body = redacted;
  }
}

function headerValue(headers: unknown, name: string): string {
  if (!headers || typeof headers !== 'object') return '';
  const v = (headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}

function redactHeaderMap(headers: unknown, names: ReadonlySet<string>): void {
  if (!headers || typeof headers !== 'object') return;
  const map = headers as Record<string, unknown>;
  for (const name of Object.keys(map)) {
    if (names.has(name)) map[name] = REDACTED;
  }
}

/** Returns the redacted body, or null when nothing in it needed redaction. */
export function redactBodyText(body: string, contentType: string): string | null {
  // Parsing every JSON body costs more than scanning it: only bodies that could hold a
  // sensitive key (its raw spelling, or a \u escape that could hide one) are parsed.
  if (!SENSITIVE_HINT.test(body)) return null;
  const first = firstNonSpace(body);
  if (first === '{' || first === '[') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return null; // truncated or not JSON after all: left as is
    }
    return redactKeys(parsed) ? JSON.stringify(parsed) : null;
  }
  if (contentType.startsWith('application/x-www-form-urlencoded')) return redactForm(body);
  return null;
}

function firstNonSpace(s: string): string {
  for (let i = 0; i < s.length && i < 64; i++) {
    const c = s[i];
    if (c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') return c;
  }
  return '';
}

/** Redacts sensitive keys at any depth; true when something changed. */
function redactKeys(value: unknown, depth = 0): boolean {
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  let changed = false;
  if (Array.isArray(value)) {
    for (const item of value) changed = redactKeys(item, depth + 1) || changed;
    return changed;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!isSensitiveKey(key)) {
      changed = redactKeys(obj[key], depth + 1) || changed;
    } else if (obj[key] !== REDACTED) {
      obj[key] = REDACTED; // the whole value, even when it is an object
      changed = true;
    }
  }
  return changed;
}

function redactForm(body: string): string | null {
  let changed = false;
  const parts = body.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    let key: string;
    try {
      key = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '));
    } catch {
      key = pair.slice(0, eq);
    }
    if (!isSensitiveKey(key)) return pair;
    changed = true;
    return `${pair.slice(0, eq)}=${encodeURIComponent(REDACTED)}`;
  });
  return changed ? parts.join('&') : null;
}
