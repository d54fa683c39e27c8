// Every capture recorded in testdata/capture/ (real traffic; see record.sh) decodes to the
// same packets as tshark saw when the capture was recorded: same frames carrying TCP/UDP,
// same source address and port, same payload length and timestamp. Covers Ethernet, SLL,
// SLL2, nanosecond and big-endian pcap, dumpcap's pcapng, a multi-interface pcapng, VLAN
// and QinQ tags, and IPv4/IPv6 fragment reassembly.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readCaptureFile } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { Stats } from '../../src/stats.js';

const dir = new URL('../../testdata/capture/', import.meta.url);

interface ExpectedPacket {
  frame: number;
  tsMicros: number;
  srcIp: string;
  transport: 'tcp' | 'udp';
  srcPort: number;
  payloadLength: number;
}

const captures = readdirSync(dir).filter((name) => /\.(pcap|pcapng)$/.test(name));

test('testdata/capture holds the recorded captures', () => {
  assert.ok(captures.length >= 9, `only ${captures.length} captures in testdata/capture`);
});

for (const name of captures) {
  test(`${name} decodes like tshark`, async () => {
    const expected = JSON.parse(readFileSync(new URL(name.replace(/\.(pcap|pcapng)$/, '.expected.json'), dir), 'utf8')) as {
      frames: number;
      packets: ExpectedPacket[];
    };
    const stats = new Stats();
    const decoder = new PacketDecoder(stats);
    const packets: ExpectedPacket[] = [];
    let frameNumber = 0;
    const result = await readCaptureFile(new URL(name, dir).pathname, (frame) => {
      frameNumber++;
      const packet = decoder.decode(frame);
      if (packet === null) return;
      packets.push({
        frame: frameNumber,
        tsMicros: packet.tsMicros,
        srcIp: packet.srcIp,
        transport: packet.transport,
        srcPort: packet.srcPort,
        payloadLength: packet.payload.length,
      });
    });
    assert.equal(result.frames, expected.frames);
    assert.ok(expected.packets.length > 0);
    assert.deepEqual(packets, expected.packets);
    assert.equal(stats.get('decode.malformed.ipv4') + stats.get('decode.malformed.ipv6') + stats.get('decode.malformed.tcp'), 0);
  });
}
