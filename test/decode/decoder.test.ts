// PacketDecoder on frames from the real captures in testdata/capture/, and on variants of
// them that show one malformed or special case each (cut headers, bad lengths, padding,
// other link types, fragments out of order, duplicated, overlapping, timed out or evicted).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LinkType, type Frame } from '../../src/capture/frame.js';
import { readCaptureStream } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { formatIpv6 } from '../../src/decode/ip-address.js';
import { Readable } from 'node:stream';
import { Stats } from '../../src/stats.js';

const dir = new URL('../../testdata/capture/', import.meta.url);

/** Copies of every frame of a capture (the reader reuses its Frame). */
async function frames(name: string): Promise<Frame[]> {
  const out: Frame[] = [];
  await readCaptureStream(Readable.from([readFileSync(new URL(name, dir))]), (f) => out.push({ ...f, data: Buffer.from(f.data) }));
  return out;
}

const withData = (frame: Frame, data: Buffer, originalLength = data.length): Frame => ({ ...frame, data, originalLength });

/** The first Ethernet frame of lo-ethernet.pcap carrying IPv4 TCP payload, and one carrying IPv6. */
async function samples() {
  const all = await frames('lo-ethernet.pcap');
  const decoder = new PacketDecoder(new Stats());
  const v4 = all.find((f) => decoder.decode(f)?.ipVersion === 4 && decoder.decode(f)!.payload.length > 0)!;
  const v6 = all.find((f) => decoder.decode(f)?.ipVersion === 6 && decoder.decode(f)!.payload.length > 0)!;
  return { v4, v6, all };
}

test('TCP fields match the header bytes of a real frame', async () => {
  const { v4 } = await samples();
  const packet = new PacketDecoder(new Stats()).decode(v4)!;
  const tcp = 14 + (v4.data[14]! & 0x0f) * 4;
  assert.equal(packet.transport, 'tcp');
  assert.equal(packet.srcIp, '127.0.0.1');
  assert.equal(packet.seq, v4.data.readUInt32BE(tcp + 4));
  assert.equal(packet.ack, v4.data.readUInt32BE(tcp + 8));
  assert.equal(packet.flags, v4.data[tcp + 13]);
  assert.equal(packet.payload.length, v4.data.readUInt16BE(16) - (tcp - 14) - (v4.data[tcp + 12]! >> 4) * 4);
  assert.equal(packet.payload.buffer, v4.data.buffer, 'payload is a view, not a copy');
});

test('Ethernet padding never becomes payload', async () => {
  const { v4, v6 } = await samples();
  for (const frame of [v4, v6]) {
    const decoder = new PacketDecoder(new Stats());
    const plain = decoder.decode(frame)!.payload.toString('latin1');
    const padded = decoder.decode(withData(frame, Buffer.concat([frame.data, Buffer.alloc(18, 0xee)])))!;
    assert.equal(padded.payload.toString('latin1'), plain);
  }
});

test('the same frame behind NULL, LOOP, RAW, IPV4 and IPV6 link headers', async () => {
  const { v4, v6 } = await samples();
  const expected = (f: Frame) => new PacketDecoder(new Stats()).decode(f);
  const family = (value: number, le: boolean) => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(value);
    else b.writeUInt32BE(value);
    return b;
  };
  const cases: [Frame, number, Buffer][] = [
    [v4, LinkType.NULL, family(2, true)],
    [v4, LinkType.LOOP, family(2, false)],
    [v6, LinkType.NULL, family(24, true)],
    [v6, LinkType.NULL, family(28, true)],
    [v6, LinkType.LOOP, family(30, false)],
    [v4, LinkType.RAW, Buffer.alloc(0)],
    [v6, LinkType.RAW, Buffer.alloc(0)],
    [v4, LinkType.IPV4, Buffer.alloc(0)],
    [v6, LinkType.IPV6, Buffer.alloc(0)],
  ];
  for (const [frame, linkType, header] of cases) {
    const data = Buffer.concat([header, frame.data.subarray(14)]);
    const packet = new PacketDecoder(new Stats()).decode({ ...frame, linkType, data, originalLength: data.length });
    assert.deepEqual({ ...packet, payload: packet?.payload.toString('hex') }, { ...expected(frame), payload: expected(frame)?.payload.toString('hex') }, `link type ${linkType}`);
  }
});

test('what is not TCP/UDP over IP is counted, not decoded', async () => {
  const { v4 } = await samples();
  const stats = new Stats();
  const decoder = new PacketDecoder(stats);
  assert.equal(decoder.decode({ ...v4, linkType: 147 }), null);
  const arp = Buffer.from(v4.data);
  arp.writeUInt16BE(0x0806, 12);
  assert.equal(decoder.decode(withData(v4, arp)), null);
  const icmp = Buffer.from(v4.data);
  icmp[14 + 9] = 1;
  assert.equal(decoder.decode(withData(v4, icmp)), null);
  assert.deepEqual(stats.toJSON(), { 'decode.nonIp': 1, 'decode.otherProtocol.icmp': 1, 'decode.unsupportedLinkType': 1 });
});

test('malformed headers give null and a decode.malformed counter', async () => {
  const { v4, v6 } = await samples();
  const ipHeader = (v4.data[14]! & 0x0f) * 4;
  const cases: [string, Frame, string][] = [
    ['frame shorter than Ethernet', withData(v4, v4.data.subarray(0, 10)), 'decode.malformed.link'],
    ['IPv4 header cut', withData(v4, v4.data.subarray(0, 14 + 12)), 'decode.malformed.ipv4'],
    ['IPv4 total length beyond the frame', withData(v4, Buffer.from(v4.data).fill(0xff, 16, 18)), 'decode.malformed.ipv4'],
    ['IPv4 IHL below 5', withData(v4, Buffer.from(v4.data).fill(0x43, 14, 15)), 'decode.malformed.ipv4'],
    ['TCP data offset below 5', withData(v4, Buffer.from(v4.data).fill(0x20, 14 + ipHeader + 12, 14 + ipHeader + 13)), 'decode.malformed.tcp'],
    ['IPv6 header cut', withData(v6, v6.data.subarray(0, 14 + 30)), 'decode.malformed.ipv6'],
    ['IPv6 payload length beyond the frame', withData(v6, Buffer.from(v6.data).fill(0xff, 18, 20)), 'decode.malformed.ipv6'],
    ['IPv6 says version 4', withData(v6, Buffer.from(v6.data).fill(0x45, 14, 15)), 'decode.malformed.ipv6'],
  ];
  for (const [label, frame, counter] of cases) {
    const stats = new Stats();
    assert.equal(new PacketDecoder(stats).decode(frame), null, label);
    assert.deepEqual(stats.toJSON(), { [counter]: 1 }, label);
  }
});

test('a frame cut by the snaplen keeps the captured part of its payload, counted', async () => {
  const { v4 } = await samples();
  const stats = new Stats();
  const whole = new PacketDecoder(new Stats()).decode(v4)!;
  const cut = v4.data.length - 50;
  const packet = new PacketDecoder(stats).decode(withData(v4, v4.data.subarray(0, cut), v4.data.length))!;
  assert.equal(packet.payload.toString('latin1'), whole.payload.subarray(0, whole.payload.length - 50).toString('latin1'));
  assert.equal(stats.get('decode.snapTruncated'), 1);
});

test('no frame cut or corrupted anywhere makes the decoder throw', async () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  // fragments.pcap holds only fragments: cut or corrupted, none completes a datagram.
  for (const [name, somePackets] of [['lo-ethernet.pcap', true], ['any-sll2.pcap', true], ['fragments.pcap', false], ['vlan.pcap', true], ['multi-interface.pcapng', true]] as const) {
    const stats = new Stats();
    const decoder = new PacketDecoder(stats);
    let decoded = 0;
    for (const frame of await frames(name)) {
      for (let cut = 0; cut <= Math.min(frame.data.length, 120); cut++) {
        if (decoder.decode(withData(frame, frame.data.subarray(0, cut))) !== null) decoded++;
      }
      for (let round = 0; round < 200; round++) {
        const data = Buffer.from(frame.data.subarray(0, 120 + Math.floor(random() * 200)));
        for (let flips = 0; flips < 3; flips++) data[Math.floor(random() * Math.min(data.length, 100))] = Math.floor(random() * 256);
        const packet = decoder.decode(withData(frame, data));
        if (packet !== null) {
          assert.ok(packet.payload.length <= data.length);
          decoded++;
        }
      }
    }
    assert.equal(decoded > 0, somePackets, name);
    assert.ok(Object.keys(stats.toJSON()).some((k) => k.startsWith('decode.malformed')), name);
  }
});

test('IPv6 text follows RFC 5952 (checked against the WHATWG URL serializer)', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 2000; i++) {
    const bytes = Buffer.alloc(16);
    // Mostly zero groups so that runs of every length and position occur.
    for (let g = 0; g < 8; g++) if (random() < 0.4) bytes.writeUInt16BE(random() < 0.5 ? Math.floor(random() * 65536) : Math.floor(random() * 16), 2 * g);
    if (bytes.readUInt32BE(0) === 0 && bytes.readUInt32BE(4) === 0 && bytes.readUInt32BE(8) === 0xffff) continue;
    const reference = new URL(`http://[${[...Array(8).keys()].map((g) => bytes.readUInt16BE(2 * g).toString(16)).join(':')}]/`).hostname.slice(1, -1);
    assert.equal(formatIpv6(bytes, 0), reference);
  }
  const mapped = Buffer.from('00000000000000000000ffff7f000001', 'hex');
  assert.equal(formatIpv6(mapped, 0), '::ffff:127.0.0.1');
});

async function fragmentSets() {
  const all = await frames('fragments.pcap');
  // Each datagram is three consecutive frames: two fragments and the last one.
  return [0, 3, 9, 12].map((i) => all.slice(i, i + 3));
}

test('fragments reassemble in any order; duplicates are ignored', async () => {
  for (const set of await fragmentSets()) {
    const inOrder = new PacketDecoder(new Stats()).decode(set[2]!)!;
    assert.equal(inOrder, null, 'a lone last fragment is not a packet');
    const reference = (() => {
      const d = new PacketDecoder(new Stats());
      d.decode(set[0]!);
      d.decode(set[1]!);
      return d.decode(set[2]!)!;
    })();
    assert.equal(reference.payload.length, 4000);
    const stats = new Stats();
    const decoder = new PacketDecoder(stats);
    assert.equal(decoder.decode(set[2]!), null);
    assert.equal(decoder.decode(set[0]!), null);
    assert.equal(decoder.decode(set[0]!), null);
    const packet = decoder.decode(set[1]!)!;
    assert.deepEqual({ ...packet, payload: packet.payload.toString('hex') }, { ...reference, tsMicros: set[1]!.tsMicros, payload: reference.payload.toString('hex') });
    assert.equal(stats.get('decode.fragments.duplicate'), 1);
    assert.equal(stats.get('decode.fragments.reassembled'), 1);
    assert.equal(decoder.fragments.pendingDatagrams, 0);
  }
});

test('fragment reassembly is bounded: timeout, pending cap, overlaps', async () => {
  const [v4a, v4b, , v6a] = await fragmentSets();
  {
    const stats = new Stats();
    const decoder = new PacketDecoder(stats, { timeoutMicros: 1_000_000 });
    decoder.decode(v4a![0]!);
    decoder.decode(v4a![1]!);
    assert.equal(decoder.decode({ ...v4a![2]!, tsMicros: v4a![2]!.tsMicros + 2_000_000 }), null);
    assert.equal(stats.get('decode.fragments.timedOut'), 1);
  }
  {
    const stats = new Stats();
    const decoder = new PacketDecoder(stats, { maxDatagrams: 1 });
    decoder.decode(v4a![0]!);
    decoder.decode(v4b![0]!); // evicts the first datagram
    decoder.decode(v4a![1]!); // starts it again, evicting the second
    assert.equal(decoder.decode(v4a![2]!), null);
    assert.equal(stats.get('decode.fragments.evicted'), 2);
    assert.equal(decoder.fragments.pendingDatagrams, 1);
  }
  {
    const stats = new Stats();
    const decoder = new PacketDecoder(stats, { maxBytes: 2000 });
    decoder.decode(v6a![0]!);
    decoder.decode(v6a![1]!);
    assert.equal(decoder.decode(v6a![2]!), null);
    assert.ok(stats.get('decode.fragments.evicted') >= 1);
  }
  {
    const stats = new Stats();
    const decoder = new PacketDecoder(stats);
    const overlapping = Buffer.from(v4a![1]!.data);
    overlapping.writeUInt16BE(overlapping.readUInt16BE(14 + 6) - 1, 14 + 6); // 8 bytes earlier
    decoder.decode(v4a![0]!);
    assert.equal(decoder.decode(withData(v4a![1]!, overlapping)), null);
    assert.equal(decoder.decode(v4a![2]!), null);
    assert.equal(stats.get('decode.fragments.overlap'), 1);
  }
});
