// The Redis dissector on real traffic recorded by testdata/redis/record.sh (redis-server 7,
// redis-cli, redis-benchmark, a raw socket), through the whole engine.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Entry } from '../../src/entry.js';
import { RedisSession } from '../../src/protocols/redis/session.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { recordingContext } from '../helpers/context.js';
import { chunksByConnection } from './redis-amqp-streams.js';
import { REDIS_CAPTURES, redisKeyFields } from '../snapshots.js';

const PORT = 16391;
const dir = new URL('../../testdata/redis/', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as Record<string, Array<Record<string, unknown>>>;

async function entriesOf(name: string, options = {}): Promise<{ entries: Entry[]; stats: Record<string, number> }> {
  const result = await entriesFromCapture(`${dir}${name}.pcap`, options);
  assertValidEntries(result.entries);
  for (const e of result.entries) assert.equal(e.protocol, 'redis');
  return result;
}

const req = (e: Entry) => e.request as { command: string; args: string[]; key?: string; [k: string]: unknown };
const res = (e: Entry) => e.response as { type: string; value?: unknown; error?: string; [k: string]: unknown };
const bySummary = (entries: Entry[], prefix: string) => {
  const found = entries.find((e) => e.summary.startsWith(prefix));
  assert.ok(found, `no entry starting with ${prefix}`);
  return found;
};

test('redis expected.json covers every capture the snapshot script makes it from', () => {
  assert.deepEqual(Object.keys(expected), REDIS_CAPTURES);
});

for (const name of Object.keys(expected)) {
  test(`redis ${name}.pcap: entries match ${name} in expected.json`, async () => {
    const { entries } = await entriesOf(name);
    // The snapshot's projection (test/snapshots.ts; scripts/regenerate-snapshots.ts writes it).
    assert.deepEqual(entries.map((e) => redisKeyFields(e, PORT)), expected[name]);
  });
}

test('redis commands: args, errors, MULTI/EXEC and credentials', async () => {
  const { entries } = await entriesOf('commands');
  const set = bySummary(entries, 'SET user:1');
  assert.deepEqual(req(set).args, ['user:1', 'alice']);
  assert.equal(res(set).value, 'OK');
  assert.ok(set.elapsedMs !== null && set.elapsedMs >= 0);
  assert.deepEqual(res(bySummary(entries, 'HGETALL')).value, ['name', 'bob', 'age', '30']);
  assert.deepEqual(req(bySummary(entries, 'HSET')).args, ['user:2', 'name', 'bob', 'age', '30']);
  const wrongType = bySummary(entries, 'LPUSH user:1');
  assert.match(res(wrongType).error ?? '', /^WRONGTYPE /);
  assert.equal(res(wrongType).value, undefined);
  const queued = entries.filter((e) => req(e).inTransaction === true).map((e) => req(e).command);
  assert.deepEqual(queued, ['SET', 'INCR']);
  assert.deepEqual(res(bySummary(entries, 'EXEC')).value, ['OK', 1]);
  assert.deepEqual(res(bySummary(entries, 'MGET')).value, ['alice', null]);
  assert.deepEqual(req(bySummary(entries, 'AUTH')).args, ['admin', '[redacted]']);

  const plain = await entriesOf('commands', { redact: false });
  assert.deepEqual(req(bySummary(plain.entries, 'AUTH')).args, ['admin', 's3cret-password']);
});

test('redis inline commands and binary-safe arguments', async () => {
  const { entries } = await entriesOf('inline');
  const inlineSet = bySummary(entries, 'SET inline:key');
  assert.equal(req(inlineSet).inline, true);
  assert.deepEqual(req(inlineSet).args, ['inline:key', 'hello world']);
  const binSet = bySummary(entries, 'SET bin:key');
  assert.equal(req(binSet).inline, undefined);
  assert.deepEqual(req(binSet).binaryArgs, [1]);
  assert.equal(Buffer.from(req(binSet).args[1], 'base64').toString('hex'), '00ff0102');
  const binGet = bySummary(entries, 'GET bin:key');
  assert.equal(res(binGet).binary, true);
  assert.equal(Buffer.from(res(binGet).value as string, 'base64').toString('hex'), '00ff0102');
});

test('redis RESP3: HELLO 3, every reply type, attributes, pushes, redacted HELLO AUTH', async () => {
  const { entries } = await entriesOf('resp3');
  const hello = entries.filter((e) => req(e).command === 'HELLO');
  assert.equal((res(hello[0]).value as Record<string, unknown>).proto, 3);
  assert.deepEqual(req(hello[1]).args, ['3', 'AUTH', 'default', '[redacted]']);
  assert.deepEqual(res(bySummary(entries, 'HGETALL')).value, { name: 'carol', age: '41' });
  assert.deepEqual((res(bySummary(entries, 'SMEMBERS')).value as string[]).sort(), ['green', 'red']);
  assert.equal(res(bySummary(entries, 'ZSCORE')).value, 1.5);
  const protocolReplies = entries.filter((e) => e.summary.startsWith('DEBUG PROTOCOL'));
  const types = new Set(protocolReplies.map((e) => res(e).type));
  for (const t of ['bulk-string', 'integer', 'double', 'null', 'array', 'set', 'map', 'verbatim-string', 'boolean', 'big-number']) {
    assert.ok(types.has(t), `no ${t} reply`);
  }
  const bignum = protocolReplies.find((e) => res(e).type === 'big-number');
  assert.equal(typeof res(bignum!).value, 'string');
  const withAttributes = protocolReplies.find((e) => res(e).attributes !== undefined);
  assert.ok(withAttributes, 'the attribute reply lost its attributes');
  assert.equal(typeof res(withAttributes).attributes, 'object');
  const push = entries.find((e) => e.summary.startsWith('push '));
  assert.ok(push);
  assert.equal(push.src.port, PORT, 'a push goes from the server to the client');
  assert.equal(push.response, null);
});

test('redis pub/sub: subscriptions paired, each message its own server-initiated entry', async () => {
  const { entries } = await entriesOf('pubsub');
  assert.deepEqual(res(bySummary(entries, 'SUBSCRIBE news')).value, ['subscribe', 'news', 1]);
  assert.deepEqual(res(bySummary(entries, 'PSUBSCRIBE')).value, ['psubscribe', 'alert.*', 1]);
  const messages = entries.filter((e) => e.src.port === PORT);
  assert.deepEqual(
    messages.map((e) => [req(e).command, req(e).channel, req(e).pattern, req(e).message]),
    [
      ['MESSAGE', 'news', undefined, 'first story'],
      ['PMESSAGE', 'alert.disk', 'alert.*', 'disk 91%'],
      ['MESSAGE', 'news', undefined, 'second story'],
    ],
  );
  for (const m of messages) assert.equal(m.elapsedMs, null);
});

test('redis pipelined (redis-benchmark -P 16): replies paired in order', async () => {
  const { entries, stats } = await entriesOf('pipeline');
  const counts = countBy(entries.map((e) => req(e).command));
  assert.deepEqual(counts, { CONFIG: 2, GET: 480, LPUSH: 480, SET: 480 });
  for (const e of entries) assert.notEqual(e.response, null, e.summary);
  for (const e of entries.filter((x) => req(x).command === 'SET')) assert.equal(res(e).value, 'OK');
  for (const e of entries.filter((x) => req(x).command === 'GET')) assert.equal(res(e).value, 'VXK');
  // LPUSH replies are the list's length: increasing on each connection when paired right,
  // and together every length from 1 to 480 exactly once.
  const lpush = entries.filter((x) => req(x).command === 'LPUSH');
  for (const port of new Set(lpush.map((e) => e.src.port))) {
    const lengths = lpush.filter((e) => e.src.port === port).map((e) => res(e).value as number);
    assert.ok(lengths.every((n, i) => i === 0 || n > lengths[i - 1]), `connection ${port}: ${lengths.join(' ')}`);
  }
  assert.deepEqual(lpush.map((e) => res(e).value as number).sort((a, b) => a - b), lpush.map((_, i) => i + 1));
  assert.equal(stats['redis.unpairedReplies'] ?? 0, 0);
});

test('redis: --max-body cuts strings and flags the cut', async () => {
  const { entries, stats } = await entriesOf('commands', { maxBody: 3 });
  const get = entries.find((e) => req(e).command === 'GET')!;
  assert.deepEqual(req(get).args, ['use']);
  assert.equal(res(get).value, 'ali');
  assert.equal(res(get).truncated, true);
  assert.ok(stats['redis.valueTruncated'] > 0);
});

test('redis: a value larger than --max-body is cut as it arrives, and pairing stays aligned', async () => {
  const { entries, stats } = await entriesOf('big', { maxBody: 1000 });
  assert.equal(stats['redis.largeValuesCut'], 2, 'the SET argument and the GET reply');
  const [set, get, strlen] = entries;
  assert.equal(req(set).args[1].length, 1000);
  assert.equal(req(set).truncated, true);
  assert.equal(res(get).value, req(set).args[1]);
  assert.equal(res(get).truncated, true);
  assert.equal(res(strlen).value, 102400);
  const whole = await entriesOf('big', { maxBody: 1 << 20 });
  assert.equal((res(whole.entries[1]).value as string).length, 102400);
  assert.equal(res(whole.entries[1]).value, req(whole.entries[0]).args[1]);
});

test('redis: counts per command agree with tshark', (t) => {
  if (spawnSync('tshark', ['--version']).status !== 0) {
    t.skip('tshark not installed: cannot compare with it');
    return;
  }
  return (async () => {
    for (const name of ['commands', 'pipeline', 'resp3', 'inline']) {
      const pdml = spawnSync('tshark', ['-r', `${dir}${name}.pcap`, '-d', `tcp.port==${PORT},resp`, '-Y', `resp && tcp.dstport==${PORT}`, '-T', 'pdml'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      assert.equal(pdml.status, 0, pdml.stderr);
      // Each top-level array in a client segment is one command; its first bulk string names it.
      const theirs = countBy([...pdml.stdout.matchAll(/^ {4}<field name="resp\.array"[^\n]*\n(?: {6}<field name="resp\.array\.length"[^\n]*\n)? {6}<field name="resp\.bulk_string" showname="Bulk String: ([^"]*)"/gm)].map((m) => m[1].toUpperCase()));
      const { entries } = await entriesOf(name);
      const ours = countBy(entries.filter((e) => e.src.port !== PORT && req(e).inline !== true).map((e) => req(e).command));
      assert.deepEqual(ours, theirs, `${name}.pcap`);
    }
  })();
});

async function pipelineWithGap(gapDir: 0 | 1) {
  const conns = await chunksByConnection(`${dir}pipeline.pcap`, PORT);
  const chunks = [...conns.values()].find((list) => list.length > 20)!;
  const ctx = recordingContext();
  const session = new RedisSession(ctx);
  const lostAt = chunks.findIndex((c, i) => i > 6 && c.dir === gapDir);
  for (const [i, c] of chunks.entries()) {
    if (i === lostAt) session.onGap(gapDir, c.data.length, c.tsMicros);
    else session.onData(c.dir, c.data, c.tsMicros);
  }
  session.onEnd(chunks.at(-1)!.tsMicros);
  assert.equal(ctx.stats.get('redis.gaps'), 1);
  const complete = ctx.calls.filter((c) => !c.incomplete && c.response !== null);
  assert.ok(complete.length > 16, 'pairing resumes after the gap');
  for (const c of complete) {
    const expectedValue = c.request.command === 'SET' ? 'OK' : c.request.command === 'GET' ? 'VXK' : undefined;
    if (expectedValue !== undefined) assert.equal(c.response!.value, expectedValue, c.summary);
  }
  // How many commands the client sent, counted from its bytes.
  const total = chunks.filter((c) => c.dir === 0).reduce((n, c) => n + countCommands(c.data), 0);
  return { ctx, lost: chunks[lostAt]!.data, total };
}

/** RESP commands as redis-benchmark writes them (`*N $len NAME`), counted from raw client bytes. */
function countCommands(bytes: Buffer): number {
  return (bytes.toString('latin1').match(/\*\d+\r\n\$\d+\r\n[A-Z]+\r\n/g) ?? []).length;
}

test('redis: lost client bytes: resync at the next command, the lost commands\' replies unpaired', async () => {
  const { ctx, lost, total } = await pipelineWithGap(0);
  // redis-benchmark writes whole commands: count those in the lost segment from its bytes.
  const lostCommands = countCommands(lost);
  assert.ok(lostCommands > 0, 'the lost client segment holds commands');
  assert.equal(ctx.stats.get('redis.resynced'), 1);
  assert.equal(ctx.stats.get('redis.unpairedReplies'), lostCommands, 'one unpaired reply per lost command');
  assert.equal(ctx.calls.length, total - lostCommands);
  assert.equal(ctx.calls.filter((c) => c.incomplete).length, 0, 'every call that was seen is paired with its own reply');
});

test('redis: lost server bytes: the calls waiting for them end incomplete without a response', async () => {
  const { ctx, lost } = await pipelineWithGap(1);
  const lostReplies = (lost.toString('latin1').match(/(?:^|\r\n)(?=[+\-:$*])/g) ?? []).length;
  assert.ok(lostReplies > 0, 'the lost server segment holds replies');
  const cut = ctx.calls.filter((c) => c.incomplete && c.response === null);
  assert.equal(cut.length, lostReplies, 'one call without a response per lost reply');
  assert.ok(cut.length < ctx.calls.length / 2, 'pairing resumes once the connection is quiet');
});

test('redis: a capture joined mid-connection resyncs and pairs correctly after that', async () => {
  const { entries, stats } = await entriesOf('pipeline-midstream');
  assert.ok(stats['redis.resynced'] > 0);
  const complete = entries.filter((e) => !e.incomplete && e.response !== null);
  assert.ok(complete.length > 100);
  for (const e of complete) {
    if (req(e).command === 'GET') assert.equal(res(e).value, 'VXK');
    if (req(e).command === 'SET') assert.equal(res(e).value, 'OK');
    if (req(e).command === 'LPUSH') assert.equal(res(e).type, 'integer');
  }
});

test('redis: fed one byte at a time, the same entries come out', async () => {
  const conns = await chunksByConnection(`${dir}resp3.pcap`, PORT);
  const summaries: string[] = [];
  for (const chunks of conns.values()) {
    const ctx = recordingContext();
    const session = new RedisSession(ctx);
    for (const c of chunks) {
      for (let i = 0; i < c.data.length; i++) session.onData(c.dir, c.data.subarray(i, i + 1), c.tsMicros);
    }
    session.onEnd(0);
    summaries.push(...ctx.calls.map((c) => c.summary));
  }
  assert.deepEqual(summaries, expected.resp3.map((e) => e.summary));
});

test('redis: other protocols\' captures are not taken for Redis', async () => {
  const others = ['http1/wrk.pcap', 'http2/h2c.pcap', 'kafka/clients.pcap', 'dns/queries.pcap', 'amqp/session.pcap', 'grpc/calls.pcap'];
  let checked = 0;
  for (const other of others) {
    const path = new URL(`../../testdata/${other}`, import.meta.url).pathname;
    if (!existsSync(path)) continue;
    const { entries } = await entriesFromCapture(path);
    assert.equal(entries.filter((e) => e.protocol === 'redis').length, 0, other);
    checked += 1;
  }
  assert.ok(checked > 0, 'no other capture to check against');
});

test('redis: malformed bytes are counted and skipped, never thrown', () => {
  // Hand-made: a broken array header, then a well-formed PING.
  const ctx = recordingContext();
  const session = new RedisSession(ctx);
  session.onData(0, Buffer.from('*2\r\n$3\r\nGET\r\n:oops\r\n*1\r\n$4\r\nPING\r\n'), 1);
  session.onData(1, Buffer.from('+PONG\r\n'), 2);
  session.onEnd(3);
  assert.equal(ctx.stats.get('redis.malformed'), 1);
  assert.deepEqual(ctx.calls.map((c) => c.summary), ['PING -> PONG']);
});

function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of [...items].sort()) out[i] = (out[i] ?? 0) + 1;
  return out;
}
