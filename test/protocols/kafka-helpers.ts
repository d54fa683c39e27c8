// Helpers shared by the Kafka tests: tshark's request counts for comparison, a subset
// comparison against the stand-in broker's journal (groups.expected.json), and a pcap
// rewriter that drops chosen TCP segments, to lose bytes mid-stream the way a capture does.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Entry } from '../../src/entry.js';

/** tshark's count of requests per "apiKey/version" (api keys by number, as tshark prints them). */
export function tsharkRequestCounts(path: string, port: number): Map<string, number> {
  const out = execFileSync(
    'tshark',
    ['-r', path, '-d', `tcp.port==${port},kafka`, '-Y', `kafka && tcp.dstport==${port}`, '-T', 'fields', '-e', 'kafka.api_key', '-e', 'kafka.api_version'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const counts = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    // One TCP segment may carry several requests: tshark lists their fields comma-separated.
    const [keys, versions] = line.split('\t');
    keys.split(',').forEach((k, i) => {
      const id = `${k}/${versions.split(',')[i]}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    });
  }
  return counts;
}

export function ourRequestCounts(entries: readonly Entry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of entries) {
    const id = `${e.request.apiKeyCode}/${e.request.apiVersion}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** One line of the broker's journal: the client port, and what the broker parsed and answered. */
export interface JournalLine {
  clientPort: number;
  request: Record<string, unknown> & { apiKey: string; apiKeyCode: number; apiVersion: number; correlationId: number };
  response: Record<string, unknown> | null;
}

export function readJournal(url: URL): JournalLine[] {
  return JSON.parse(readFileSync(url, 'utf8')) as JournalLine[];
}

export function callKey(port: number, apiKeyCode: unknown, correlationId: unknown): string {
  return `${port}/${apiKeyCode}/${correlationId}`;
}

/** Every field `expected` has, `actual` has with the same value; arrays match in length and order. */
export function assertSubset(actual: unknown, expected: unknown, path: string): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((item, i) => assertSubset(actual[i], item, `${path}[${i}]`));
  } else if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(expected)) assertSubset((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else assert.deepEqual(actual, expected, path);
}

/** A TCP segment of a classic pcap with Ethernet/IPv4 frames (what `tcpdump -i lo` writes). */
export interface Segment {
  index: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

function records(file: Buffer): { start: number; end: number; data: Buffer }[] {
  assert.equal(file.readUInt32LE(0), 0xa1b2c3d4, 'little-endian microsecond pcap');
  assert.equal(file.readUInt32LE(20), 1, 'Ethernet link type');
  const out = [];
  for (let pos = 24; pos + 16 <= file.length; ) {
    const len = file.readUInt32LE(pos + 8);
    out.push({ start: pos, end: pos + 16 + len, data: file.subarray(pos + 16, pos + 16 + len) });
    pos += 16 + len;
  }
  return out;
}

export function tcpSegments(path: string): Segment[] {
  return records(readFileSync(path)).flatMap(({ data }, index) => {
    if (data.readUInt16BE(12) !== 0x0800 || data[23] !== 6) return [];
    const ip = 14;
    const tcp = ip + (data[ip] & 0x0f) * 4;
    const payloadStart = tcp + (data[tcp + 12] >> 4) * 4;
    const payloadEnd = ip + data.readUInt16BE(ip + 2);
    return [{ index, srcPort: data.readUInt16BE(tcp), dstPort: data.readUInt16BE(tcp + 2), payload: data.subarray(payloadStart, payloadEnd) }];
  });
}

/** Write a copy of the capture without the records at `drop` (indexes as in tcpSegments). */
export function writeWithout(path: string, drop: ReadonlySet<number>, outPath: string): void {
  const file = readFileSync(path);
  const kept = records(file).filter((_, i) => !drop.has(i)).map((r) => file.subarray(r.start, r.end));
  writeFileSync(outPath, Buffer.concat([file.subarray(0, 24), ...kept]));
}
