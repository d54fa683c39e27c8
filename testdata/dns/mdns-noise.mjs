// Helper of record.sh: mDNS-like datagrams (RFC 6762: id 0, unicast-response bit, an
// unsolicited answer) sent to 127.0.0.1:5353 inside the namespace. Nothing listens; the
// point is that the capture holds DNS-shaped UDP that is not a client/resolver exchange.
import dgram from 'node:dgram';

function name(n) {
  return Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}
const u16 = (v) => Buffer.from([v >> 8, v & 0xff]);
// Query: id 0, two questions (PTR _http._tcp.local, QU bit set in the class).
const query = Buffer.concat([u16(0), u16(0), u16(2), u16(0), u16(0), u16(0),
  name('_http._tcp.local'), u16(12), u16(0x8001), name('_ipp._tcp.local'), u16(12), u16(0x8001)]);
// Unsolicited response: id 0, QR|AA, one A record with the cache-flush bit.
const answer = Buffer.concat([u16(0), u16(0x8400), u16(0), u16(1), u16(0), u16(0),
  name('printer.local'), u16(1), u16(0x8001), Buffer.from([0, 0, 0, 120]), u16(4), Buffer.from([10, 0, 0, 9])]);
const s = dgram.createSocket('udp4');
s.bind(5353, '127.0.0.1', () => {
  s.send(query, 5353, '127.0.0.1', () => s.send(answer, 5353, '127.0.0.1', () => s.close()));
});
