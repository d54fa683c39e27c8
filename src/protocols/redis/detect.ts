// Recognises Redis by content: a client that opens with a RESP command array
// (`*N\r\n$L\r\nNAME`) or with an inline command Redis knows, and a server that only
// speaks RESP after it. Ports are never consulted.

import type { Probe, Verdict } from '../types.js';
import { opensWithInlineCommand, replyOnlyValues } from './orientation.js';

/** Commands accepted as an inline opening line (telnet, nc, health checks). */
const INLINE_OPENERS = new Set([
  'PING', 'AUTH', 'HELLO', 'SELECT', 'INFO', 'SET', 'GET', 'DEL', 'EXISTS', 'KEYS', 'INCR',
  'DECR', 'MGET', 'MSET', 'HGET', 'HSET', 'HGETALL', 'LPUSH', 'RPUSH', 'LRANGE', 'SADD',
  'SMEMBERS', 'ZADD', 'ZRANGE', 'EXPIRE', 'TTL', 'TYPE', 'DBSIZE', 'FLUSHALL', 'FLUSHDB',
  'SUBSCRIBE', 'PSUBSCRIBE', 'PUBLISH', 'CLIENT', 'CONFIG', 'COMMAND', 'MULTI', 'ECHO', 'SCAN',
  'MONITOR', 'QUIT',
]);

export function detectRedis(probe: Probe): Verdict {
  const c = probe.client;
  if (c.length === 0) return probe.server.length > 0 ? 'no' : 'more';
  let verdict = c[0] === 0x2a ? commandArray(c) : inlineCommand(c);
  if (verdict === 'no' && probe.midstream) verdict = laterCommandArray(c);
  if (verdict !== 'yes') return verdict;
  if (probe.server.length > 0 && !RESP_REPLY_START.has(probe.server[0])) return 'no';
  return probe.midstream ? orientation(probe) : 'yes';
}

/**
 * Joined mid-flow the client/server guess may be backwards, and a server's array reply
 * (`*3 $3 GET ...`) reads like a command. Replies only a server sends decide: found on the
 * client's side (or an inline command on the server's), this orientation is wrong and the
 * engine tries the swapped one.
 */
function orientation(probe: Probe): Verdict {
  if (opensWithInlineCommand(probe.server)) return 'no';
  const fromClient = replyOnlyValues(probe.client);
  const fromServer = replyOnlyValues(probe.server);
  return fromClient > fromServer ? 'no' : 'yes';
}

const RESP_REPLY_START = new Set(Array.from('+-:$*%~>_#,(!=|', (ch) => ch.charCodeAt(0)));

/** `*<1..7 digits>\r\n$<1..10 digits>\r\n<letter>` */
function commandArray(c: Buffer): Verdict {
  let i = 1;
  while (i < c.length && isDigit(c[i])) i++;
  if (i === c.length) return i <= 8 ? 'more' : 'no';
  if (i === 1 || i > 8) return 'no';
  for (const expected of [0x0d, 0x0a, 0x24]) {
    if (i === c.length) return 'more';
    if (c[i++] !== expected) return 'no';
  }
  const lenStart = i;
  while (i < c.length && isDigit(c[i])) i++;
  if (i === c.length) return i - lenStart <= 10 ? 'more' : 'no';
  if (i === lenStart || i - lenStart > 10) return 'no';
  for (const expected of [0x0d, 0x0a]) {
    if (i === c.length) return 'more';
    if (c[i++] !== expected) return 'no';
  }
  if (i === c.length) return 'more';
  return isLetter(c[i]) ? 'yes' : 'no';
}

function inlineCommand(c: Buffer): Verdict {
  const lf = c.indexOf(0x0a);
  const line = c.toString('latin1', 0, lf < 0 ? Math.min(c.length, 256) : lf).replace(/\r$/, '');
  const word = /^[A-Za-z]+/.exec(line)?.[0] ?? '';
  if (word.length === line.length && lf < 0) {
    // Still inside the first word: it may grow into a known command.
    return line.length <= 12 && [...INLINE_OPENERS].some((k) => k.startsWith(line.toUpperCase())) ? 'more' : 'no';
  }
  if (!INLINE_OPENERS.has(word.toUpperCase())) return 'no';
  if (lf < 0) return line.length < 256 ? 'more' : 'no';
  // "GET / HTTP/1.1" is HTTP, not Redis.
  if (/ HTTP\/\d/.test(line)) return 'no';
  return line.length === word.length || line[word.length] === ' ' ? 'yes' : 'no';
}

/**
 * Joined mid-connection: a command array starting somewhere in the first 4 KiB. Never 'more':
 * waiting here would hold back every dissector after this one in the registry.
 */
function laterCommandArray(c: Buffer): Verdict {
  const limit = Math.min(c.length, 4096);
  for (let i = c.indexOf(0x2a, 1); i >= 0 && i < limit; i = c.indexOf(0x2a, i + 1)) {
    if (commandArray(c.subarray(i)) === 'yes') return 'yes';
  }
  return 'no';
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function isLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}
