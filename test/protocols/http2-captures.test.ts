// HTTP/2 through the whole engine on captures of real node:http2, nghttpd/h2load and curl
// traffic (testdata/http2), including one recorded with real packet loss.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { countBy, hasTshark, tsharkView } from './http2-helpers.js';
import { http2KeyFields } from '../snapshots.js';

const dir = new URL('../../testdata/http2/', import.meta.url).pathname;
type AnyRecord = Record<string, any>;

test('node.pcap (port 18080, padded frames, table size 512) matches node.expected.json', async () => {
  const { entries, stats } = await entriesFromCapture(`${dir}node.pcap`);
  assertValidEntries(entries);
  const expected = JSON.parse(readFileSync(`${dir}node.expected.json`, 'utf8')) as AnyRecord[];
  // The snapshot's projection (test/snapshots.ts; scripts/regenerate-snapshots.ts writes it).
  assert.deepEqual(entries.map(http2KeyFields), expected);
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

// h2c.pcap: HTTP/1.1 `Upgrade: h2c` against nghttpx on five connections (testdata/http2/README.md):
// curl GET then a second URL on the same connection, a POST with a body, a POST that gets
// 100 Continue before the 101, a POST that gets a 417 instead (upgrade refused, body never
// sent), nghttp with a 100 KB upgraded response then a second URL. h2c.expected.json is what
// the servers logged while it was recorded: nghttpx's access log (client port, path, the
// protocol the request arrived in, the one that answered: alpn h2c or http/1.1, status, body
// bytes sent) and the backend's own log (request body size, the body it served).
interface H2cTruth {
  frontend: { clientPort: number; method: string; path: string; protocol: 'HTTP/1.1' | 'HTTP/2'; status: number; bodySize: number; alpn: 'h2c' | 'http/1.1' }[];
  backend: { method: string; url: string; requestBodySize: number; responseBodySize: number; responseBody?: string }[];
}

test('h2c: each Upgrade request is one entry answered over HTTP/2, later requests are HTTP/2, as the servers logged', async () => {
  const truth = JSON.parse(readFileSync(`${dir}h2c.expected.json`, 'utf8')) as H2cTruth;
  const { entries, stats } = await entriesFromCapture(`${dir}h2c.pcap`, { maxBody: 1000 });
  assertValidEntries(entries);
  assert.equal(entries.length, truth.backend.length, 'one entry per request the backend served');
  assert.equal(entries.length, truth.frontend.length);
  const upgraded = new Set(truth.frontend.filter((r) => r.alpn === 'h2c').map((r) => r.clientPort));
  assert.ok(upgraded.size >= 3 && upgraded.size < new Set(truth.frontend.map((r) => r.clientPort)).size, 'the capture has upgraded connections and a refused one');
  assert.equal(stats['engine.upgrades.http2'], upgraded.size, 'each upgraded connection was handed from http1 to http2');
  assert.equal(stats['http2.hpackErrors'] ?? 0, 0);

  for (const logged of truth.frontend) {
    const what = `${logged.method} ${logged.path} from port ${logged.clientPort}`;
    const matching = (entries as AnyRecord[]).filter((e) => e.src.port === logged.clientPort && `${e.request.path}${queryString(e.request.query)}` === logged.path);
    assert.equal(matching.length, 1, `one entry for ${what}`);
    const e = matching[0]!;
    const served = truth.backend.find((b) => b.url === logged.path && b.method === logged.method)!;
    assert.equal(e.protocol, 'http');
    assert.equal(e.request.method, logged.method);
    assert.equal(e.request.httpVersion, logged.protocol === 'HTTP/1.1' ? '1.1' : '2', `${what} arrived as ${logged.protocol}`);
    assert.equal(e.request.bodySize, served.requestBodySize, what);
    assert.equal(e.response.httpVersion, logged.alpn === 'h2c' ? '2' : '1.1', `${what} answered over ${logged.alpn}`);
    assert.equal(e.response.status, logged.status);
    assert.equal(e.response.bodySize, logged.bodySize);
    assert.equal(e.response.bodySize, served.responseBodySize);
    if (served.responseBody !== undefined) assert.equal(e.response.body, served.responseBody);
    assert.equal(e.incomplete, undefined, `${what}: nothing was lost`);
    assert.equal(e.error, undefined);
  }

  // Per upgraded connection: the HTTP/1.1 Upgrade request comes first and is the only HTTP/1.1 one.
  for (const port of upgraded) {
    const onConnection = (entries as AnyRecord[]).filter((e) => e.src.port === port).sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    assert.deepEqual(onConnection.map((e) => e.request.httpVersion), ['1.1', ...Array(onConnection.length - 1).fill('2')], `connection from port ${port}`);
    assert.equal(onConnection[0].request.headers.upgrade, 'h2c');
  }
  const byPath = (path: string) => (entries as AnyRecord[]).find((e) => e.request.path === path)!;
  assert.equal(byPath('/form').request.body, '{"user":"alice","qty":2}', 'the body sent with the Upgrade request');
  assert.equal(byPath('/continue').request.body, 'x'.repeat(1000), 'the body sent after 100 Continue, before the 101');
  // The 417 refused the upgrade before the body: the client closed without sending it.
  const refused = byPath('/refused');
  assert.equal(refused.request.headers['content-length'], '3000');
  assert.equal(refused.response.upgrade, undefined);
  assert.equal(stats['http1.expectBodiesNotSent'], 1);
  const big = byPath('/big');
  assert.equal(big.response.bodyTruncated, true);
  assert.equal(big.response.body, 'a'.repeat(1000), 'the first 1000 bytes of what the backend served');
});

test('h2c: agrees with tshark (HTTP/1.1, then HTTP/2 after a 101) on upgrades, requests and statuses', async (t) => {
  if (!hasTshark) return t.skip('needs tshark: not installed');
  const { entries, stats } = await entriesFromCapture(`${dir}h2c.pcap`);
  const view = tsharkUpgradeView(`${dir}h2c.pcap`, 18082);
  assert.equal(stats['engine.upgrades.http2'], view.switches);
  assert.equal(entries.length, view.http1Requests + view.http2Requests);
  assert.equal((entries as AnyRecord[]).filter((e) => e.request.httpVersion === '1.1').length, view.http1Requests);
  assert.deepEqual(countBy(entries as AnyRecord[], (e) => String(e.response.status)), view.finalStatuses);
});

function queryString(query: Record<string, string | string[]>): string {
  const pairs = Object.entries(query).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`));
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
}

/** What tshark sees when it decodes the port as HTTP/1 and follows each 101 into HTTP/2. */
function tsharkUpgradeView(capture: string, port: number): { switches: number; http1Requests: number; http2Requests: number; finalStatuses: Record<string, number> } {
  // Without desegment_body tshark reports a request at its head: with it, it would wait forever
  // for the body the client never sent after the 417.
  const run = spawnSync('tshark', ['-r', capture, '-o', 'http.desegment_body:FALSE', '-d', `tcp.port==${port},http`, '-Y', 'http || http2.type == 1', '-T', 'json', '--no-duplicate-keys'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`tshark failed: ${run.stderr}`);
  const list = (v: unknown): AnyRecord[] => (v === undefined ? [] : Array.isArray(v) ? (v as AnyRecord[]) : [v as AnyRecord]);
  const view = { switches: 0, http1Requests: 0, http2Requests: 0, finalStatuses: {} as Record<string, number> };
  const count = (status: string) => (view.finalStatuses[status] = (view.finalStatuses[status] ?? 0) + 1);
  for (const packet of JSON.parse(run.stdout) as AnyRecord[]) {
    const layers = packet._source.layers as AnyRecord;
    for (const http of list(layers.http)) {
      if (http['http.request'] === '1') view.http1Requests++;
      // A status line is a nested object keyed by the line itself.
      const status = Object.keys(http).find((k) => k.startsWith('HTTP/1.'))?.split(' ')[1];
      if (status === '101') view.switches++;
      else if (status !== undefined && !status.startsWith('1')) count(status);
    }
    for (const h2 of list(layers.http2)) {
      for (const frame of list(h2['http2.stream'])) {
        if (frame['http2.type'] !== '1') continue;
        for (const header of list(frame['http2.header'])) {
          if (header['http2.header.name'] === ':method') view.http2Requests++;
          if (header['http2.header.name'] === ':status') count(header['http2.header.value']);
        }
      }
    }
  }
  return view;
}
