// HTTP/2 through the whole engine on captures of real node:http2, nghttpd/h2load and curl
// traffic (testdata/http2), including one recorded with real packet loss.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { tcpDissectorByName } from '../../src/protocols/registry.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { countBy, hasTshark, tsharkView } from './http2-helpers.js';

const dir = new URL('../../testdata/http2/', import.meta.url).pathname;
type AnyRecord = Record<string, any>;

test('node.pcap (port 18080, padded frames, table size 512) matches node.expected.json', async () => {
  const { entries, stats } = await entriesFromCapture(`${dir}node.pcap`);
  assertValidEntries(entries);
  const expected = JSON.parse(readFileSync(`${dir}node.expected.json`, 'utf8')) as AnyRecord[];
  const actual = entries.map((e: AnyRecord) => ({
    protocol: e.protocol,
    summary: e.summary,
    status: e.response?.status ?? null,
    responseBodySize: e.response?.bodySize ?? null,
    ...(e.error ? { error: e.error } : {}),
    ...(e.incomplete ? { incomplete: true } : {}),
  }));
  assert.deepEqual(actual, expected);
  assert.equal(stats['http2.hpackErrors'] ?? 0, 0);
  assert.equal(stats['http2.headerBlocksIncomplete'] ?? 0, 0);
});

test('pseudo headers, query, bodies, push, reset, trailers, CONTINUATION', async () => {
  const { entries } = await entriesFromCapture(`${dir}node.pcap`, { maxBody: 1000 });
  const by = (path: string) => (entries as AnyRecord[]).find((e) => e.request.path === path) as AnyRecord;
  const hello = by('/hello');
  assert.equal(hello.request.httpVersion, '2');
  assert.equal(hello.request.scheme, 'http');
  assert.equal(hello.request.authority, '127.0.0.1:18080');
  assert.deepEqual(hello.request.query, { name: ['a', 'b'], x: ' y' });
  assert.equal(by('/echo').request.body, '{"user":"alice","qty":2}');
  assert.equal(by('/gzip').response.body, '{"packed":"gzip","n":1}');
  assert.equal(by('/br').response.body, 'brotli body');
  assert.equal(by('/pushed.css').response.body, 'body { color: red }');
  assert.equal(by('/slow').response, null);
  assert.equal(by('/slow').error, 'RST_STREAM CANCEL from client');
  assert.deepEqual(by('/trailers').response.trailers, { 'x-checksum': 'abc123' });
  const big = by('/big').response;
  assert.equal(big.bodySize, 200_000);
  assert.equal(big.bodyTruncated, true);
  assert.equal(Buffer.from(big.body, 'base64').length, 1000);
  assert.equal(by('/hello/large-header').request.headers['x-large'].length, 20_000);
  const items = (entries as AnyRecord[]).filter((e) => e.request.path.startsWith('/item/'));
  assert.equal(items.length, 20);
  for (const e of items) assert.equal(e.response.headers['x-item'], e.request.path.slice(6));
});

test('h2load: 300 streams on 2 connections with HPACK table reuse, all paired', async () => {
  const { entries, stats } = await entriesFromCapture(`${dir}h2load.pcap`);
  assertValidEntries(entries);
  assert.equal(entries.length, 300);
  assert.ok(entries.every((e: AnyRecord) => e.response?.status === 200 && e.response.bodySize === Number(e.response.headers['content-length']) && !e.incomplete));
  assert.equal(stats['http2.hpackErrors'] ?? 0, 0);
});

test('agrees with tshark on request streams and :status counts', async (t) => {
  if (!hasTshark) return t.skip('needs tshark: not installed');
  const h2load = await entriesFromCapture(`${dir}h2load.pcap`);
  const view = tsharkView(`${dir}h2load.pcap`, 18081);
  assert.equal(h2load.entries.length, view.requestStreams);
  assert.deepEqual(countBy(h2load.entries as AnyRecord[], (e) => (e.response ? String(e.response.status) : null)), view.statuses);
  // node.pcap: tshark decodes every request, but not the responses after the client's
  // SETTINGS_HEADER_TABLE_SIZE of 512 (the server's header blocks start with a table size update).
  const node = await entriesFromCapture(`${dir}node.pcap`);
  assert.equal(node.entries.length, tsharkView(`${dir}node.pcap`, 18080).requestStreams);
});

test('real packet loss: resynchronises, flags what it cannot know, recovers the table', async () => {
  const { entries, stats } = await entriesFromCapture(`${dir}node-lossy.pcap`);
  assertValidEntries(entries);
  assert.ok((stats['tcp.gaps'] ?? 0) > 0, 'the capture really lost segments');
  assert.ok((stats['http2.gapResyncs'] ?? 0) > 0);
  const flagged = (entries as AnyRecord[]).filter((e) => e.response?.headersIncomplete);
  assert.ok(flagged.length > 0, 'responses decoded with an unknown table are flagged');
  // The response table is only 512 bytes: once enough new entries were seen it is trusted again.
  const last = entries.at(-1) as AnyRecord;
  assert.equal(last.response.headersIncomplete, undefined);
  assert.ok(last.response.headers.date, 'headers complete again after recovery');
  // Nothing is guessed: every reported x-item matches its path.
  for (const e of entries as AnyRecord[]) {
    if (e.request.path.startsWith('/item/') && e.response?.headers['x-item']) assert.equal(e.response.headers['x-item'], e.request.path.slice(6));
  }
});

test('h2c: the HTTP/1.1 Upgrade request is stream 1, answered over HTTP/2', async (t) => {
  if (!tcpDissectorByName('http1')) return t.skip('needs the http1 dissector in the registry (it hands h2c over)');
  const { entries } = await entriesFromCapture(`${dir}h2c.pcap`);
  assertValidEntries(entries);
  const upgraded = (entries as AnyRecord[]).find((e) => e.request.httpVersion === '1.1');
  assert.ok(upgraded, 'the upgrade request is reported');
  assert.equal(upgraded.response.httpVersion, '2');
  assert.equal(upgraded.response.status, 200);
  assert.equal(entries.filter((e: AnyRecord) => e.response?.status === 200).length, 2);
});
