// The tapper with --file: a capture served as if live, on loopback, as a real process. Its
// stream carries exactly what `kubectl tap read` prints for the same file (plus node and
// capture), at the recorded pace or as fast as possible; the filter is pushed down; idle
// streams get heartbeats; bad input is one line on stderr and exit 2. No root needed.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliPath, ensureBuilt, repoRoot } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';
import { TapperClient, waitFor } from './tapper-client.js';
import { waitForLine } from './topology.js';

const TAPPER = join(repoRoot, 'dist', 'tapper.js');
const MIXED = join(repoRoot, 'testdata', 'mixed', 'mixed.pcap');
const HTTP2 = join(repoRoot, 'testdata', 'http2', 'node.pcap');

describe('tapper --file', { concurrency: false }, () => {
  let dir: string;
  let tokenFile: string;
  const token = randomBytes(24).toString('hex');
  const running = new Set<ChildProcess>();

  const start = async (args: string[]) => {
    const child = spawn(process.execPath, [TAPPER, '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--node-name', 'node-f', ...args], { cwd: repoRoot });
    running.add(child);
    const line = await waitForLine(child, /serving on/);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    return { child, api: new TapperClient(null, '127.0.0.1', port, token) };
  };
  const stop = async (child: ChildProcess) => {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    running.delete(child);
  };
  const readEntries = (file: string) =>
    spawnSync(cliPath, ['read', file, '-q'], { encoding: 'utf8' }).stdout.trim().split('\n').map((l) => JSON.parse(l));
  const withoutId = (e: any) => {
    const { id, node, capture, ...rest } = e;
    return rest;
  };

  before(() => {
    ensureBuilt();
    if (!existsSync(TAPPER)) spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'kubectl-tap-file-source-'));
    tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, token);
  });

  after(() => {
    for (const c of running) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('fast: the stream is what `kubectl tap read` prints, with node and capture', async () => {
    const want = readEntries(MIXED);
    assert.ok(want.length > 5);
    const { child, api } = await start(['--file', MIXED, '--pace', 'fast']);
    const stream = await api.stream('s1');
    await stream.until((s) => s.entries.length >= want.length);
    await waitFor(async () => (await api.stats()).capture.state === 'done');
    const got = stream.entries;
    assertValidEntries(got);
    assert.deepEqual(got.map(withoutId), want.map(withoutId));
    for (const e of got) assert.deepEqual([e.node, e.capture], ['node-f', { local: [] }]);
    const stats = await api.stats();
    assert.equal(stats.source, 'file');
    assert.equal(stats.entries, want.length);
    assert.equal(stats.consumers[0].emitted, want.length);
    await stop(child);
    assert.ok(stream.ended, 'SIGTERM ended the stream');
  });

  test('recorded pace: the same entries, no faster than they were recorded', async () => {
    const want = readEntries(HTTP2);
    const { child, api } = await start(['--file', HTTP2, '--pace', 'recorded']);
    const stream = await api.stream('s1');
    const arrival: number[] = [];
    stream.res.on('data', () => arrival.push(performance.now()));
    await stream.until((s) => s.entries.length >= want.length, 60_000);
    assert.deepEqual(stream.entries.map(withoutId), want.map(withoutId));
    // A lower bound only: pacing waits at least the recorded gap between the first and last call.
    const recordedMs = (Date.parse(want.at(-1).timestamp) - Date.parse(want[0].timestamp));
    assert.ok(arrival.at(-1)! - arrival[0]! >= recordedMs * 0.9 - 5, `played in ${arrival.at(-1)! - arrival[0]!} ms, recorded over ${recordedMs} ms`);
    await stop(child);
  });

  test('a pushed-down filter, counted; an idle stream hears heartbeats', async () => {
    const want = readEntries(MIXED).filter((e) => e.protocol === 'http');
    const { child, api } = await start(['--file', MIXED, '--pace', 'fast', '--heartbeat', '0.2']);
    const stream = await api.stream('s1', "protocol = 'http'");
    await waitFor(async () => (await api.stats()).capture.state === 'done');
    await stream.until((s) => s.entries.length >= want.length);
    assert.deepEqual(stream.entries.map(withoutId), want.map(withoutId));
    const stats = await api.stats();
    assert.equal(stats.consumers[0].filteredOut, stats.entries - want.length);
    assert.ok(stats.consumers[0].filteredOut > 0);
    const heard = stream.markers('heartbeat').length;
    await stream.until((s) => s.markers('heartbeat').length >= heard + 3);
    assert.ok(stream.markers('heartbeat').length >= heard + 3, 'heartbeats go on while idle');
    for (const m of stream.markers('heartbeat')) assert.ok(!Number.isNaN(Date.parse(m.time)));
    await stop(child);
  });

  test('streams beyond what the memory budget holds queues for are refused', async () => {
    // 128 MiB (twice the engine's minimum, 64 MiB): the queues get an eighth, 16 MiB, two streams of 8 MiB each.
    const { child, api } = await start(['--file', MIXED, '--memory-budget', '128MiB', '--consumer-queue', '8MiB']);
    const open = [await api.stream('s1'), await api.stream('s2')];
    assert.deepEqual(open.map((s) => s.status), [200, 200]);
    const refused = await api.request('GET', '/entries?session=s3');
    assert.equal(refused.status, 503);
    assert.match(JSON.parse(refused.body).error, /2 streams are open already/);
    const stats = await api.stats();
    assert.deepEqual([stats.memory.budget.consumerQueues.maxConsumers, stats.memory.budget.consumerQueues.perConsumer], [2, 8 * 1024 * 1024]);
    assert.equal(stats.memory.budget.engine.limit, 112 * 1024 * 1024, 'a file source has no kernel rings: the engine gets the rest');
    await stop(child);
  });

  test('bad input: one line on stderr, exit 2, nothing served', () => {
    const notCapture = join(dir, 'not-a-capture');
    writeFileSync(notCapture, 'hello, this is text\n');
    const shortToken = join(dir, 'short-token');
    writeFileSync(shortToken, 'abc\n');
    const cases: [string[], RegExp][] = [
      [['--file', join(dir, 'missing.pcap'), '--token-file', tokenFile], /missing\.pcap: no such file/],
      [['--file', notCapture, '--token-file', tokenFile], /not a pcap or pcapng file/],
      [['--file', MIXED, '--token-file', join(dir, 'no-token')], /cannot read the token file .*ENOENT/],
      [['--file', MIXED, '--token-file', shortToken], /holds no usable token/],
      [['--file', MIXED, '--token-file', tokenFile, '--listen', 'nowhere'], /--listen must be ADDR:PORT/],
      [['--file', MIXED, '--token-file', tokenFile, '--memory-budget', 'lots'], /--memory-budget must be a size/],
      [['--file', MIXED, '--token-file', tokenFile, '--pace', 'slow'], /pace/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, [TAPPER, '--listen', '127.0.0.1:0', ...args], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });
});

