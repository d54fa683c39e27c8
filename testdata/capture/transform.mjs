// Rewrites of real captures for record.sh, for what this machine cannot record directly.
//   node transform.mjs big-endian-pcap IN OUT     swap the global and record headers' byte order
//   node transform.mjs big-endian-pcapng IN OUT   swap every block's framing and fixed fields
//   node transform.mjs vlan-tags IN OUT           insert 802.1Q (odd frames) or QinQ (even frames) tags
import { readFileSync, writeFileSync } from 'node:fs';

const [mode, input, output] = process.argv.slice(2);
const b = Buffer.from(readFileSync(input));
const swap32 = (o) => b.writeUInt32BE(b.readUInt32LE(o), o);
const swap16 = (o) => b.writeUInt16BE(b.readUInt16LE(o), o);
const swap64 = (o) => b.writeBigUInt64BE(b.readBigUInt64LE(o), o);

if (mode === 'big-endian-pcap') {
  swap32(0); swap16(4); swap16(6);
  for (const o of [8, 12, 16, 20]) swap32(o);
  for (let p = 24; p < b.length; ) {
    const len = b.readUInt32LE(p + 8);
    for (const o of [0, 4, 8, 12]) swap32(p + o);
    p += 16 + len;
  }
  writeFileSync(output, b);
} else if (mode === 'big-endian-pcapng') {
  // Options keep their values' bytes except the 8-byte if_tsoffset (the only numeric option
  // the reader interprets); codes and lengths are swapped.
  const swapOptions = (p, end, eightByteCodes) => {
    while (p + 4 <= end) {
      const code = b.readUInt16LE(p), len = b.readUInt16LE(p + 2);
      swap16(p); swap16(p + 2);
      if (code === 0) break;
      if (eightByteCodes.includes(code) && len === 8) swap64(p + 4);
      p += 4 + ((len + 3) & ~3);
    }
  };
  for (let p = 0; p < b.length; ) {
    const type = b.readUInt32LE(p), len = b.readUInt32LE(p + 4), end = p + len - 4;
    swap32(p); swap32(p + 4); swap32(end);
    if (type === 0x0a0d0d0a) { swap32(p + 8); swap16(p + 12); swap16(p + 14); swap64(p + 16); swapOptions(p + 24, end, []); }
    else if (type === 1) { swap16(p + 8); swap16(p + 10); swap32(p + 12); swapOptions(p + 16, end, [14]); }
    else if (type === 6) { const cap = b.readUInt32LE(p + 20); for (const o of [8, 12, 16, 20, 24]) swap32(p + o); swapOptions(p + 28 + ((cap + 3) & ~3), end, []); }
    else if (type === 5) { for (const o of [8, 12, 16]) swap32(p + o); swapOptions(p + 20, end, []); }
    else throw new Error(`block type ${type} not handled`);
    p += len;
  }
  writeFileSync(output, b);
} else if (mode === 'vlan-tags') {
  const out = [b.subarray(0, 24)];
  const tag = (tpid, vid) => { const t = Buffer.alloc(4); t.writeUInt16BE(tpid, 0); t.writeUInt16BE(vid, 2); return t; };
  for (let p = 24, n = 1; p < b.length; n++) {
    const len = b.readUInt32LE(p + 8), orig = b.readUInt32LE(p + 12);
    const frame = b.subarray(p + 16, p + 16 + len);
    const tags = n % 2 ? [tag(0x8100, 100)] : [tag(0x88a8, 200), tag(0x8100, 300)];
    const tagged = Buffer.concat([frame.subarray(0, 12), ...tags, frame.subarray(12)]);
    const header = Buffer.from(b.subarray(p, p + 16));
    header.writeUInt32LE(tagged.length, 8);
    header.writeUInt32LE(orig + tagged.length - len, 12);
    out.push(header, tagged);
    p += 16 + len;
  }
  writeFileSync(output, Buffer.concat(out));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
