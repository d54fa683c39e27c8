// Measures the fixed costs the memory budget charges (CONNECTION_COST, SEGMENT_OVERHEAD,
// UDP_FLOW_COST, DNS_QUERY_COST, FRAGMENT_OVERHEAD): heap + external bytes per item after a
// full GC, over many items, so the constants in src/ are measured rather than guessed.
// Usage: node --expose-gc --import tsx scripts/measure-memory-costs.ts
import type { Packet } from '../src/decode/packet.js';
import { TcpFlag } from '../src/decode/packet.js';
import { engineOptions } from '../src/engine.js';
import { MemoryBudget } from '../src/memory/budget.js';
import { openConnection } from '../src/protocols/dispatch.js';
import { UdpFlows } from '../src/protocols/udp-flows.js';
import { Stats } from '../src/stats.js';
import { TcpAssembler } from '../src/tcp/assembler.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function held(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

function packet(i: number, flags: number, seq: number, payload: Buffer, transport: 'tcp' | 'udp' = 'tcp'): Packet {
  return {
    tsMicros: 1_000_000 + i,
    ipVersion: 4,
    srcIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    dstIp: '10.255.255.254',
    transport,
    srcPort: 10000 + (i % 50000),
    dstPort: transport === 'udp' ? 53 : 8080,
    seq,
    ack: 0,
    flags,
    payload,
  };
}

function perItem(label: string, n: number, build: () => unknown): void {
  const before = held();
  const keep = build();
  const after = held();
  console.log(`${label}: ${Math.round((after - before) / n)} bytes each (${n} items)`);
  void keep;
}

const N = 100_000;
const big = { memoryBudget: 64 * 1024 ** 3 };
const options = engineOptions(big);

perItem('TCP connection after a SYN (table entry, halves, detecting parser)', N, () => {
  const stats = new Stats();
  const memory = new MemoryBudget(options.memoryBudget, stats);
  const asm = new TcpAssembler((ends) => openConnection(ends, options, stats, () => {}, memory), stats, { maxConnections: 10 * N }, memory);
  for (let i = 0; i < N; i++) asm.push(packet(i, TcpFlag.SYN, 7000, Buffer.alloc(0)));
  return asm;
});

perItem('out-of-order segment of 1 byte (beyond its byte)', N, () => {
  const stats = new Stats();
  const memory = new MemoryBudget(options.memoryBudget, stats);
  const asm = new TcpAssembler(() => ({ onData() {}, onGap() {}, onEnd() {} }), stats, { maxConnections: 10, maxBufferedPerDirection: 1024 ** 3 }, memory);
  asm.push(packet(0, TcpFlag.SYN, 0, Buffer.alloc(0)));
  const one = Buffer.from('x');
  const segsBefore = held();
  for (let i = 0; i < N; i++) asm.push(packet(0, TcpFlag.ACK, 10 + 2 * i, one));
  void segsBefore;
  return asm;
});

perItem('UDP DNS flow with one pending query (flow, parser, pending map, parsed query)', N, () => {
  const stats = new Stats();
  const memory = new MemoryBudget(options.memoryBudget, stats);
  const flows = new UdpFlows(options, stats, () => {}, { maxFlows: 10 * N }, memory);
  const q = Buffer.from('1234010000010000000000000773686f702d30300373766300000100 01'.replace(/ /g, ''), 'hex');
  for (let i = 0; i < N; i++) {
    q.writeUInt16BE(i & 0xffff, 0);
    flows.push(packet(i, 0, 0, q, 'udp'));
  }
  return flows;
});
