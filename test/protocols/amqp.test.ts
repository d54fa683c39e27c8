// The AMQP 0-9-1 dissector on real traffic recorded by testdata/amqp/record.sh (amqplib
// against rabbitmq-server 3.10, testdata/amqp/session.ts), through the whole engine.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Entry } from '../../src/entry.js';
import { AmqpSession } from '../../src/protocols/amqp/session.js';
import { methodName } from '../../src/protocols/amqp/spec.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { recordingContext } from '../helpers/context.js';
import { chunksByConnection } from './redis-amqp-streams.js';
import { amqpKeyFields } from '../snapshots.js';

const PORT = 15699;
const capture = new URL('../../testdata/amqp/session.pcap', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(new URL('../../testdata/amqp/expected.json', import.meta.url), 'utf8'));

type Rec = Record<string, unknown> & { method: string };
const req = (e: Entry) => e.request as Rec;
const res = (e: Entry) => e.response as Rec;

async function entriesOf(options = {}) {
  const result = await entriesFromCapture(capture, options);
  assertValidEntries(result.entries);
  for (const e of result.entries) assert.equal(e.protocol, 'amqp');
  return result;
}

function find(entries: Entry[], summaryPrefix: string): Entry {
  const e = entries.find((x) => x.summary.startsWith(summaryPrefix));
  assert.ok(e, `no entry starting with ${summaryPrefix}`);
  return e;
}

test('amqp session.pcap: entries match expected.json', async () => {
  const { entries } = await entriesOf();
  // The snapshot's projection (test/snapshots.ts; scripts/regenerate-snapshots.ts writes it).
  assert.deepEqual(entries.map((e) => amqpKeyFields(e, PORT)), expected.session);
});

test('amqp publish: exchange, routing key, properties, body from several body frames, confirms', async () => {
  const { entries } = await entriesOf();
  const created = find(entries, 'basic.publish orders.created');
  assert.equal(req(created).exchange, 'shop');
  assert.equal(req(created).routingKey, 'orders.created');
  assert.deepEqual(req(created).properties, {
    contentType: 'application/json', deliveryMode: 2, messageId: 'm-1', headers: { 'x-tenant': 'acme', attempt: 1 },
  });
  assert.deepEqual(JSON.parse(req(created).body as string), { id: 1, item: 'book' });
  assert.equal(res(created).method, 'basic.ack');
  assert.ok(created.elapsedMs !== null);

  // frame_max 4096: the 10 KiB body came in three body frames.
  const large = find(entries, 'basic.publish orders.large');
  assert.equal(req(large).bodySize, 10240);
  assert.equal(req(large).body, 'x'.repeat(10240));

  const refused = find(entries, 'basic.publish full');
  assert.equal(res(refused).method, 'basic.nack');
  const binary = find(entries, 'basic.publish orders.binary');
  assert.equal(req(binary).bodyEncoding, 'base64');
  assert.equal(Buffer.from(req(binary).body as string, 'base64').toString('hex'), '000102fffe');
});

test('amqp consume: deliveries are server-initiated entries, acks are the client\'s', async () => {
  const { entries } = await entriesOf();
  const deliveries = entries.filter((e) => req(e).method === 'basic.deliver');
  assert.deepEqual(deliveries.map((e) => req(e).routingKey), ['orders.large', 'orders.binary']);
  for (const d of deliveries) {
    assert.equal(d.src.port, PORT);
    assert.equal(d.response, null);
    assert.match(req(d).consumerTag as string, /^amq\.ctag-/);
  }
  const acks = entries.filter((e) => req(e).method === 'basic.ack');
  assert.deepEqual(acks.map((e) => req(e).deliveryTag), [1, 2, 3]);
  for (const a of acks) assert.equal(a.dst.port, PORT);
});

test('amqp basic.get: get-ok with the message, then get-empty', async () => {
  const { entries } = await entriesOf();
  const [first, second] = entries.filter((e) => req(e).method === 'basic.get');
  assert.equal(req(first).queue, 'orders');
  assert.equal(res(first).method, 'basic.get-ok');
  assert.equal(res(first).routingKey, 'orders.created');
  assert.equal(res(first).messageCount, 2);
  assert.equal((res(first).properties as Rec).messageId, 'm-1');
  assert.equal(res(second).method, 'basic.get-empty');
});

test('amqp channel error: the failed call and the channel.close carry code and text', async () => {
  const { entries } = await entriesOf();
  const failed = find(entries, 'queue.declare does-not-exist');
  assert.equal(res(failed).method, 'channel.close');
  assert.equal(res(failed).replyCode, 404);
  assert.match(failed.error ?? '', /404 NOT_FOUND/);
  const close = entries.find((e) => req(e).method === 'channel.close' && req(e).replyCode === 404);
  assert.ok(close);
  assert.equal(close.src.port, PORT);
  assert.equal(req(close).failedMethod, 'queue.declare');
  assert.equal(res(close).method, 'channel.close-ok');
});

test('amqp: SASL credentials in connection.start-ok are redacted unless --no-redact', async () => {
  const start = find((await entriesOf()).entries, 'connection.start');
  assert.equal(res(start).response, '[redacted]');
  assert.equal(res(start).mechanism, 'PLAIN');
  const plain = find((await entriesOf({ redact: false })).entries, 'connection.start');
  assert.equal(Buffer.from(res(plain).response as string, 'base64').toString('latin1'), '\0guest\0guest');
});

test('amqp: --max-body cuts bodies and keeps their size; heartbeats are counted', async () => {
  const { entries, stats } = await entriesOf({ maxBody: 100 });
  const large = find(entries, 'basic.publish orders.large');
  assert.equal(req(large).body, 'x'.repeat(100));
  assert.equal(req(large).bodyTruncated, true);
  assert.equal(req(large).bodySize, 10240);
  assert.ok(stats['amqp.bodiesTruncated'] >= 2);
  assert.ok(stats['amqp.heartbeats'] > 0, 'heartbeat frames (heartbeat 1 s) are seen');
});

test('amqp: counts per method agree with tshark', (t) => {
  if (spawnSync('tshark', ['--version']).status !== 0) {
    t.skip('tshark not installed: cannot compare with it');
    return;
  }
  return (async () => {
    const out = spawnSync('tshark', ['-r', capture, '-d', `tcp.port==${PORT},amqp`, '-Y', 'amqp.method.class', '-T', 'fields', '-e', 'amqp.method.class', '-e', 'amqp.method.method'], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const theirs: string[] = [];
    for (const line of out.stdout.trim().split('\n')) {
      const [classes, methods] = line.split('\t').map((f) => f.split(','));
      classes.forEach((c, i) => theirs.push(methodName(Number(c), Number(methods[i]))));
    }
    const { entries } = await entriesOf();
    const ours: string[] = [];
    const confirms = new Set<string>();
    for (const e of entries) {
      ours.push(req(e).method);
      const r = e.response as Rec | null;
      if (r === null) continue;
      // A close that interrupted a call is also an entry of its own; one confirm may cover several publishes.
      if (e.error !== undefined && r.method.endsWith('.close')) continue;
      if (r.method === 'basic.ack' || r.method === 'basic.nack') {
        const id = `${r.channel}/${r.method}/${r.deliveryTag}`;
        if (confirms.has(id)) continue;
        confirms.add(id);
      }
      ours.push(r.method);
    }
    assert.deepEqual(countBy(ours), countBy(theirs));
  })();
});

test('amqp: lost server bytes cut the content in flight, and parsing resumes at the next frame', async () => {
  const conns = await chunksByConnection(capture, PORT);
  const chunks = [...conns.values()][0];
  const lostAt = chunks.findIndex((c) => c.dir === 1 && c.data.includes('orders.large'));
  assert.ok(lostAt > 0);
  const ctx = recordingContext();
  const session = new AmqpSession(ctx);
  for (const [i, c] of chunks.entries()) {
    if (i === lostAt) session.onGap(1, c.data.length, c.tsMicros);
    else if (i === lostAt + 1) session.onData(c.dir, c.data.subarray(3), c.tsMicros); // and resync mid-frame
    else session.onData(c.dir, c.data, c.tsMicros);
  }
  session.onEnd(chunks.at(-1)!.tsMicros);
  assert.equal(ctx.stats.get('amqp.gaps'), 1);
  const summaries = ctx.calls.map((c) => c.summary);
  assert.ok(summaries.includes('basic.get orders -> get-empty'), summaries.join('\n'));
  assert.ok(summaries.includes('connection.close 200 Cheers, thanks -> close-ok'));
  // What was lost, read with a frame walk of its own: the methods of the lost segment, and
  // the first frame of the next one, whose first 3 bytes were dropped too: the consumer's
  // consume-ok and two deliveries. Each delivery is an entry of its own, so those are missing;
  // basic.consume waits for a consume-ok that never comes and ends incomplete (the server's
  // channel.close is what it sees next); every other entry is unchanged and in order.
  const lost = [...methodsIn(chunks[lostAt]!.data), methodsIn(chunks[lostAt + 1]!.data)[0]];
  const deliveries = lost.filter((m) => m === '60.60').length;
  assert.ok(lost.includes('60.21') && deliveries === 2, `lost methods ${lost.join(' ')}`);
  assert.equal(ctx.calls.length, expected.session.length - deliveries);
  const incomplete = ctx.calls.filter((c) => c.incomplete).map((c) => c.summary);
  assert.deepEqual(incomplete, ['basic.consume orders -> channel.close 200 Goodbye']);
  const untouched = (list: string[]) => list.filter((x) => !x.startsWith('basic.deliver orders.') && !x.startsWith('basic.consume orders'));
  assert.deepEqual(untouched(summaries), untouched(expected.session.map((e: { summary: string }) => e.summary)));
});

/** class.method of every method frame in bytes that start at a frame boundary (type, channel, size, payload, 0xCE). */
function methodsIn(bytes: Buffer): string[] {
  const methods: string[] = [];
  for (let at = 0; at + 7 <= bytes.length; ) {
    const size = bytes.readUInt32BE(at + 3);
    if (bytes[at] === 1 && at + 11 <= bytes.length) methods.push(`${bytes.readUInt16BE(at + 7)}.${bytes.readUInt16BE(at + 9)}`);
    at += 7 + size + 1;
  }
  return methods;
}

test('amqp: fed one byte at a time, the same entries come out', async () => {
  const conns = await chunksByConnection(capture, PORT);
  const ctx = recordingContext();
  const session = new AmqpSession(ctx);
  for (const c of [...conns.values()][0]) {
    for (let i = 0; i < c.data.length; i++) session.onData(c.dir, c.data.subarray(i, i + 1), c.tsMicros);
  }
  session.onEnd(0);
  assert.deepEqual(ctx.calls.map((c) => c.summary), expected.session.map((e: { summary: string }) => e.summary));
});

test('amqp: a capture joined mid-connection starts at the first whole frame', async () => {
  const midstream = new URL('../../testdata/amqp/session-midstream.pcap', import.meta.url).pathname;
  const { entries } = await entriesFromCapture(midstream);
  assertValidEntries(entries);
  const all = expected.session.map((e: { summary: string }) => e.summary) as string[];
  const got = entries.map((e) => e.summary);
  assert.ok(got.length >= 10, got.join('\n'));
  // What it sees is the tail of the full session, in order.
  assert.deepEqual(got, all.slice(all.length - got.length));
});

test('amqp: other protocols\' captures are not taken for AMQP', async () => {
  const others = ['http1/wrk.pcap', 'http2/h2c.pcap', 'kafka/clients.pcap', 'redis/commands.pcap', 'grpc/calls.pcap'];
  let checked = 0;
  for (const other of others) {
    const path = new URL(`../../testdata/${other}`, import.meta.url).pathname;
    if (!existsSync(path)) continue;
    const { entries } = await entriesFromCapture(path);
    assert.equal(entries.filter((e) => e.protocol === 'amqp').length, 0, other);
    checked += 1;
  }
  assert.ok(checked > 0, 'no other capture to check against');
});

test('amqp: malformed frames are counted and skipped, never thrown', () => {
  // Hand-made: the protocol header, bytes that are no frame, then a heartbeat frame.
  const ctx = recordingContext();
  const session = new AmqpSession(ctx);
  session.onData(0, Buffer.from('AMQP\x00\x00\x09\x01\x07garbage\x08\x00\x00\x00\x00\x00\x00\xce', 'latin1'), 1);
  session.onData(1, Buffer.from('\x01\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x0a\xce', 'latin1'), 2);
  session.onEnd(3);
  assert.ok(ctx.stats.get('amqp.malformedFrames') >= 1);
  assert.equal(ctx.stats.get('amqp.heartbeats'), 1);
  assert.equal(ctx.stats.get('amqp.malformedMethods'), 1, 'a connection.start cut short');
});

function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of [...items].sort()) out[i] = (out[i] ?? 0) + 1;
  return out;
}
