// gRPC through the whole engine on captures of real @grpc/grpc-js traffic (testdata/grpc).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleProtos } from '../../src/protocols/grpc/protos.js';
import { test } from 'node:test';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { countBy, hasTshark, tsharkView } from './http2-helpers.js';
import { grpcKeyFields } from '../snapshots.js';

const dir = new URL('../../testdata/grpc/', import.meta.url).pathname;
const calls = `${dir}calls.pcap`;
const protos = `${dir}protos`;

type AnyRecord = Record<string, any>;

test('every call of calls.pcap matches calls.expected.json', async () => {
  const { entries, stats } = await entriesFromCapture(calls);
  assertValidEntries(entries);
  const expected = JSON.parse(readFileSync(`${dir}calls.expected.json`, 'utf8')) as AnyRecord[];
  // The snapshot's projection (test/snapshots.ts; scripts/regenerate-snapshots.ts writes it).
  assert.deepEqual(entries.map(grpcKeyFields), expected);
  assert.equal(stats['http2.hpackErrors'] ?? 0, 0);
});

test('metadata, trailers-only errors, gzip messages and schemaless trees', async () => {
  const { entries } = await entriesFromCapture(calls);
  const [first, notFound] = entries as AnyRecord[];
  assert.equal(first.request.service, 'shop.v1.Cart');
  assert.equal(first.request.method, 'AddItem');
  assert.equal(first.request.headers['x-request-id'], 'req-42');
  assert.equal(first.request.headers.authorization, '[REDACTED]');
  assert.equal(first.response.headers['x-served-by'], 'cart-1');
  assert.deepEqual(first.request.messages[0].value, { 1: 'alice', 2: { 1: 'sku-1', 2: 3, 3: { 1: 'EUR', 2: 420 } } });
  assert.equal(notFound.response.trailersOnly, true);
  assert.equal(notFound.response.grpcMessage, 'user nobody not found');
  const zipped = (entries as AnyRecord[]).find((e) => e.request.headers['grpc-encoding'] === 'gzip');
  assert.ok(zipped, 'the gzip call is reported');
  assert.equal(zipped.request.messages[0].compressed, true);
  assert.equal(zipped.request.messages[0].value[2][2], 7);
  // The 100 KB message is larger than --max-body (64 KiB by default): its first 64 KiB are
  // shown raw, flagged, its size exact; with a larger --max-body it is decoded whole.
  const big = (entries as AnyRecord[]).find((e) => e.request.messages[0]?.size > 16384);
  assert.ok(big, 'the 100 KB message spanning several DATA frames is reported');
  const cut = big.request.messages[0];
  assert.equal(cut.bodyTruncated, true);
  assert.equal(cut.decodeError, 'message larger than --max-body');
  assert.equal(Buffer.from(cut.body, 'base64').length, 64 * 1024);
  assert.equal(cut.bodySize, cut.size);
  const { entries: whole } = await entriesFromCapture(calls, { maxBody: 256 * 1024 });
  const decoded = (whole as AnyRecord[]).find((e) => e.request.messages[0]?.size > 16384);
  assert.ok(decoded);
  assert.equal(decoded.request.messages[0].value[2][4].bytes.length, Math.ceil(100_000 / 3) * 4);
});

test('--proto decodes by name, resolving imports, chosen by the call path', async () => {
  const { entries, stats } = await entriesFromCapture(calls, { protoPaths: [protos] });
  assertValidEntries(entries);
  const first = entries[0] as AnyRecord;
  assert.equal(first.request.messages[0].type, 'shop.v1.AddItemRequest');
  assert.deepEqual(first.request.messages[0].value, { user: 'alice', item: { sku: 'sku-1', quantity: 3, price: { currency: 'EUR', units: '420' } } });
  assert.equal(first.response.messages[0].type, 'shop.v1.CartReply');
  assert.deepEqual(first.response.messages[0].value.updated, { seconds: '1700000000', nanos: 5 });
  const watch = (entries as AnyRecord[]).find((e) => e.request.method === 'WatchCart');
  assert.deepEqual(watch?.response.messages.map((m: AnyRecord) => m.value.kind), ['added', 'removed', 'added', 'removed', 'added']);
  assert.equal(stats['grpc.protoLoadErrors'] ?? 0, 0);
});

// A live session bundles its --proto into one JSON descriptor for the tappers (src/kube/manifests.ts).
test('a bundled JSON descriptor decodes exactly as the .proto files it was made from', async () => {
  const bundle = join(mkdtempSync(join(tmpdir(), 'tap-protos-')), 'protos.json');
  writeFileSync(bundle, bundleProtos([protos]));
  const fromSources = await entriesFromCapture(calls, { protoPaths: [protos] });
  const fromBundle = await entriesFromCapture(calls, { protoPaths: [bundle] });
  assert.ok(fromBundle.entries.some((e) => (e as AnyRecord).request.messages?.[0]?.type === 'shop.v1.AddItemRequest'), 'decoded by name');
  const withoutId = (entries: object[]) => entries.map(({ id: _, ...rest }: AnyRecord) => rest);
  assert.deepEqual(withoutId(fromBundle.entries), withoutId(fromSources.entries));
  assert.throws(() => bundleProtos([`${dir}no-such.proto`]), /no such file/);
});

test('a message that does not fit its schema falls back to the field-number tree and says so', async () => {
  const { entries } = await entriesFromCapture(calls, { protoPaths: [`${dir}mismatch/cart.proto`] });
  assertValidEntries(entries);
  const first = entries[0] as AnyRecord;
  const message = first.request.messages[0];
  assert.match(message.schemaError, /does not fit shop\.v1\.WrongRequest/);
  assert.equal(message.type, undefined);
  assert.equal(message.value[1], 'alice');
});

test('--max-messages keeps the first messages, counts them all', async () => {
  const { entries, stats } = await entriesFromCapture(calls, { maxMessages: 2 });
  assertValidEntries(entries);
  const watch = (entries as AnyRecord[]).find((e) => e.request.method === 'WatchCart');
  assert.equal(watch?.response.messages.length, 2);
  assert.equal(watch?.response.messageCount, 5);
  assert.equal(watch?.response.messagesTruncated, true);
  // WatchCart drops 3, UploadItems 2, Chat 1 + 1.
  assert.equal(stats['grpc.messagesDropped'], 7);
});

test('a capture that joined late: calls still reported, unknown headers flagged', async () => {
  const { entries, stats } = await entriesFromCapture(`${dir}calls-midstream.pcap`, { protoPaths: [protos] });
  assertValidEntries(entries);
  assert.equal(stats['tcp.connectionsMidstream'], 1);
  const midstream = (entries as AnyRecord[]).filter((e) => e.request.headersIncomplete);
  assert.ok(midstream.length >= 5, `expected the late-joined calls, got ${midstream.length}`);
  for (const e of midstream) {
    assert.equal(e.incomplete, true);
    assert.equal(e.protocol, 'grpc', `${e.summary} taken as gRPC by its path`);
  }
  const watch = midstream.find((e) => e.request.method === 'WatchCart');
  assert.equal(watch?.response.messages[4].value.seq, 5);
});

test('agrees with tshark on gRPC calls and grpc-status counts', async (t) => {
  if (!hasTshark) return t.skip('needs tshark: not installed');
  const { entries } = await entriesFromCapture(calls);
  const view = tsharkView(calls, 50051);
  assert.equal(entries.filter((e) => e.protocol === 'grpc').length, view.grpcCalls);
  // tshark counts headers as sent, including the trailers-only DEADLINE_EXCEEDED (200, 4) the
  // server sent after the client had already reset the stream; we report that call as reset.
  const reset = entries.filter((e) => e.error?.startsWith('RST_STREAM')).length;
  assert.equal(reset, 1);
  const statuses = countBy(entries as AnyRecord[], (e) => (e.response ? String(e.response.status) : null));
  assert.deepEqual({ 200: statuses['200'] + reset }, view.statuses);
  const ours = countBy(entries as AnyRecord[], (e) => (e.response?.grpcStatus == null ? null : String(e.response.grpcStatus)));
  assert.equal(Object.values(view.grpcStatuses).reduce((a, b) => a + b, 0), Object.values(ours).reduce((a, b) => a + b, 0) + reset);
  for (const [status, n] of Object.entries(ours)) assert.equal(view.grpcStatuses[status], n, `grpc-status ${status}`);
});
