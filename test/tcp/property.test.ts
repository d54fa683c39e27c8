// Exact-stream property tests: real HTTP/1.1 byte streams (recorded from a node server and
// client over loopback) and real repository files are cut into segments, then reordered,
// duplicated, partially retransmitted and dropped by a seeded PRNG. For every seed the
// delivered stream must equal the original except exactly at the reported gaps.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Stats } from '../../src/stats.js';
import { MemoryBudget } from '../../src/memory/budget.js';
import { CONNECTION_COST } from '../../src/tcp/limits.js';
import { TcpAssembler } from '../../src/tcp/assembler.js';
import { checkStream, prng, recorder } from './harness.js';
import { recordHttpExchange, type RecordedExchange } from './http-exchange.js';
import { holes, simulate, type Perturbation } from './simulate.js';

const seeds = Number(process.env.TCP_PROPERTY_SEEDS ?? 2000);
let exchange: RecordedExchange;
let repoFile: Buffer;

before(async () => {
  exchange = await recordHttpExchange();
  repoFile = readFileSync(new URL('../../package-lock.json', import.meta.url));
});

/** A real pair of streams for this seed: a window of the HTTP exchange, or a repo file as a response. */
function streamsFor(random: () => number): [Buffer, Buffer] {
  const window = (b: Buffer, max: number) => {
    const len = Math.min(b.length, Math.floor(random() * max));
    const start = Math.floor(random() * (b.length - len + 1));
    return b.subarray(start, start + len);
  };
  if (random() < 0.75) return [window(exchange.client, 12_000), window(exchange.server, 24_000)];
  return [window(exchange.client, 600), window(repoFile, 30_000)];
}

function perturbation(random: () => number, realAcks: boolean): Perturbation {
  return {
    reorderWindow: Math.floor(random() * 6),
    duplicateRate: random() * 0.2,
    overlapRate: random() * 0.15,
    dropRate: random() < 0.3 ? 0 : random() * 0.15,
    realAcks,
    maxSegment: random() < 0.2 ? 64 : 1460,
  };
}

test('recorded HTTP exchange is non-trivial', () => {
  assert.ok(exchange.client.length > 20_000, `client bytes ${exchange.client.length}`);
  assert.ok(exchange.server.length > 48 * 1024, `server bytes ${exchange.server.length}`);
  assert.match(exchange.client.subarray(0, 20).toString('latin1'), /^GET \/hello/);
  assert.match(exchange.server.subarray(0, 20).toString('latin1'), /^HTTP\/1\.1 200/);
});

test(`without acks, gaps are exactly the bytes never captured (${seeds} seeds)`, () => {
  let totalGaps = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const random = prng(seed);
    const streams = streamsFor(random);
    const sim = simulate(streams, random, perturbation(random, false));
    const rec = recorder();
    const stats = new Stats();
    const asm = new TcpAssembler(rec.open, stats);
    for (const p of sim.packets) asm.push(p);
    asm.closeAll(sim.packets.at(-1)!.tsMicros);
    assert.equal(stats.get('tcp.parserErrors'), 0, `seed ${seed}: the recorder's contract checks passed`);
    assert.equal(rec.connections.length, 1, `seed ${seed}: one connection`);
    const conn = rec.connections[0]!;
    assert.equal(conn.info.midstream, false);
    assert.equal(conn.endCount, 1, `seed ${seed}: onEnd once`);
    for (const dir of [0, 1] as const) {
      const gaps = checkStream(conn.events[dir], streams[dir], `seed ${seed} dir ${dir}`);
      assert.deepEqual(gaps, holes(sim.captured[dir]), `seed ${seed} dir ${dir}: gaps vs never-captured ranges`);
      totalGaps += gaps.length;
    }
    assert.equal(asm.connectionCount, 0);
    assert.equal(asm.bufferedBytes, 0, `seed ${seed}: buffers released`);
  }
  assert.ok(totalGaps > seeds / 10, `the drops produced gaps (${totalGaps})`);
});

test(`with real acks, gaps cover only dropped bytes (${seeds} seeds)`, () => {
  let ackGaps = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const random = prng(seed ^ 0x5bd1e995);
    const streams = streamsFor(random);
    const sim = simulate(streams, random, perturbation(random, true));
    const rec = recorder();
    const stats = new Stats();
    const asm = new TcpAssembler(rec.open, stats);
    for (const p of sim.packets) asm.push(p);
    asm.closeAll(sim.packets.at(-1)!.tsMicros);
    assert.equal(stats.get('tcp.parserErrors'), 0, `seed ${seed}: the recorder's contract checks passed`);
    const conn = rec.connections[0]!;
    assert.equal(rec.connections.length, 1);
    for (const dir of [0, 1] as const) {
      const gaps = checkStream(conn.events[dir], streams[dir], `seed ${seed} dir ${dir}`);
      for (const [start, end] of gaps) {
        for (let i = start; i < end; i++) {
          if (sim.dropped[dir][i] !== 1) assert.fail(`seed ${seed} dir ${dir}: gap [${start},${end}) covers byte ${i}, which was never dropped`);
        }
      }
      // A hole may be reported in pieces (first up to the ack, the rest later): merge touching gaps.
      const merged = gaps.reduce<Array<[number, number]>>((out, g) => {
        const last = out.at(-1);
        if (last !== undefined && last[1] === g[0]) last[1] = g[1];
        else out.push([g[0], g[1]]);
        return out;
      }, []);
      for (const [start, end] of holes(sim.captured[dir])) {
        assert.ok(merged.some(([s, e]) => s <= start && end <= e), `seed ${seed} dir ${dir}: hole [${start},${end}) not reported`);
      }
    }
    ackGaps += stats.get('tcp.gapsAcked');
  }
  assert.ok(ackGaps > 0, 'some gaps were found through acks');
});

test(`small buffer caps: exact except at gaps, buffers never exceed the caps (${Math.ceil(seeds / 4)} seeds)`, () => {
  let capHits = 0;
  for (let seed = 1; seed <= Math.ceil(seeds / 4); seed++) {
    const random = prng(seed * 7919);
    const streams = streamsFor(random);
    const how = { ...perturbation(random, random() < 0.5), reorderWindow: 3 + Math.floor(random() * 10) };
    const sim = simulate(streams, random, how);
    const rec = recorder();
    const stats = new Stats();
    const limits = { maxBufferedPerDirection: 2000 + Math.floor(random() * 4000) };
    // The one connection plus a few thousand buffered bytes (and their segments' overhead).
    const memory = new MemoryBudget(CONNECTION_COST + 3000 + Math.floor(random() * 3000), stats);
    const asm = new TcpAssembler(rec.open, stats, limits, memory);
    for (const p of sim.packets) {
      asm.push(p);
      assert.ok(memory.used <= memory.limit, `seed ${seed}: held ${memory.used} > ${memory.limit}`);
    }
    asm.closeAll(sim.packets.at(-1)!.tsMicros);
    assert.equal(stats.get('tcp.parserErrors'), 0, `seed ${seed}: the recorder's contract checks passed`);
    const conn = rec.connections[0]!;
    for (const dir of [0, 1] as const) checkStream(conn.events[dir], streams[dir], `seed ${seed} dir ${dir}`);
    const gapBytes = conn.gapBytes(0) + conn.gapBytes(1);
    assert.equal(stats.get('tcp.gapBytes'), gapBytes, `seed ${seed}: tcp.gapBytes counts what the parser was told`);
    capHits += stats.get('tcp.bufferCapHits.perDirection') + stats.get('tcp.bufferCapHits.memory');
  }
  assert.ok(capHits > 0, 'the caps were hit');
});
