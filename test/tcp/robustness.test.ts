// Hostile input: seeded random TCP packets (random flags, sequence and ack numbers near and
// far, SYNs and RSTs mid-connection, a handful of 4-tuples, IPv4 and IPv6) carrying slices
// of real HTTP bytes. The assembler must never throw, never feed a parser after onEnd
// (the recorder asserts it; an assertion thrown inside a parser would surface as
// tcp.parserErrors), and stay within its connection and buffer caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../src/decode/packet.js';
import { Stats } from '../../src/stats.js';
import { MemoryBudget } from '../../src/memory/budget.js';
import { CONNECTION_COST } from '../../src/tcp/limits.js';
import { TcpAssembler } from '../../src/tcp/assembler.js';
import { prng, recorder } from './harness.js';
import { recordHttpExchange } from './http-exchange.js';

test('random packets never break the assembler or its bounds', async () => {
  const { server } = await recordHttpExchange();
  const ips = ['10.9.0.1', '10.9.0.2', 'fd00::9', 'fd00::a'];
  const ports = [80, 443, 8080, 45000, 45001];
  for (let seed = 1; seed <= 300; seed++) {
    const random = prng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const rec = recorder();
    const stats = new Stats();
    const limits = { maxConnections: 4, maxBufferedPerDirection: 3000, idleTimeoutMicros: 2_000_000 };
    // Four connections and 5000 buffered bytes: the budget binds before the table does.
    const memory = new MemoryBudget(4 * CONNECTION_COST + 5000, stats);
    const asm = new TcpAssembler(rec.open, stats, limits, memory);
    const seqBase = Math.floor(random() * 2 ** 32);
    let ts = 1_000_000;
    for (let i = 0; i < 400; i++) {
      ts += Math.floor(random() * 200_000);
      const v6 = random() < 0.3;
      const start = Math.floor(random() * (server.length - 3000));
      const p: Packet = {
        tsMicros: ts,
        ipVersion: v6 ? 6 : 4,
        srcIp: pick(v6 ? ips.slice(2) : ips.slice(0, 2)),
        dstIp: pick(v6 ? ips.slice(2) : ips.slice(0, 2)),
        transport: 'tcp',
        srcPort: pick(ports),
        dstPort: pick(ports),
        seq: (seqBase + Math.floor((random() - 0.3) * (random() < 0.9 ? 20_000 : 2 ** 32))) >>> 0,
        ack: (seqBase + Math.floor((random() - 0.3) * 20_000)) >>> 0,
        flags: Math.floor(random() * 32) & (random() < 0.8 ? 0x18 | 0x01 : 0x1f),
        payload: random() < 0.3 ? Buffer.alloc(0) : server.subarray(start, start + Math.floor(random() * 3000)),
      };
      asm.push(p);
      assert.ok(asm.connectionCount <= limits.maxConnections, `seed ${seed}: ${asm.connectionCount} connections`);
      assert.ok(memory.used <= memory.limit, `seed ${seed}: ${memory.used} held`);
    }
    asm.closeAll(ts);
    assert.equal(asm.connectionCount, 0);
    assert.equal(asm.bufferedBytes, 0, `seed ${seed}: buffers released on close`);
    assert.equal(memory.used, 0, `seed ${seed}: everything released on close`);
    assert.equal(stats.get('tcp.parserErrors'), 0, `seed ${seed}: a parser contract assertion failed`);
    assert.ok(rec.connections.every((c) => c.endCount === 1), `seed ${seed}: every connection ended exactly once`);
  }
});
