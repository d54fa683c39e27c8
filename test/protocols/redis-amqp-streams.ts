// Test helper for the Redis and AMQP dissector tests: the TCP payloads of one recorded
// loopback capture, in capture order.
// Lets a test drive a parser directly (to inject a gap, or to feed bytes one at a time).
import { createReadStream } from 'node:fs';
import { readCaptureStream } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import type { Dir } from '../../src/protocols/types.js';
import { Stats } from '../../src/stats.js';

export interface Chunk {
  dir: Dir;
  data: Buffer;
  tsMicros: number;
}

/** Payload-carrying segments of the connections whose server port is serverPort, by client port. */
export async function chunksByConnection(path: string, serverPort: number): Promise<Map<number, Chunk[]>> {
  const decoder = new PacketDecoder(new Stats());
  const out = new Map<number, Chunk[]>();
  await readCaptureStream(createReadStream(path), (frame) => {
    const p = decoder.decode(frame);
    if (!p || p.transport !== 'tcp' || p.payload.length === 0) return;
    const dir: Dir = p.dstPort === serverPort ? 0 : 1;
    const clientPort = dir === 0 ? p.srcPort : p.dstPort;
    if (dir === 1 && p.srcPort !== serverPort) return;
    const list = out.get(clientPort) ?? [];
    list.push({ dir, data: Buffer.from(p.payload), tsMicros: p.tsMicros });
    out.set(clientPort, list);
  });
  return out;
}

