// Hostile and odd captures, generated at run time into a PcapStream (never committed as
// files). Each shape takes its size as parameters, so the tests run a few-second version
// and `make soak` the sizes the issue measured.

import { ipv4, PcapStream, TCP } from './pcap-stream.js';

const SERVER = ipv4(0xfffffe);
const HTTP_PORT = 8080;

function request(path: string, extra = ''): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: shop\r\nUser-Agent: hostile\r\n${extra}\r\n`);
}

function response(body: string): Buffer {
  return Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nContent-Type: text/plain\r\n\r\n${body}`);
}

/** The three-way handshake of connection `i` (client i, ephemeral port), at time `ts`. */
async function handshake(w: PcapStream, ts: number, client: number, sport: number, cIsn: number, sIsn: number): Promise<void> {
  await w.tcp(ts, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: cIsn, ack: 0, flags: TCP.SYN });
  await w.tcp(ts, { src: SERVER, dst: client, sport: HTTP_PORT, dport: sport, seq: sIsn, ack: cIsn + 1, flags: TCP.SYN | TCP.ACK });
  await w.tcp(ts, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: cIsn + 1, ack: sIsn + 1, flags: TCP.ACK });
}

/**
 * `connections` connections, each with a 1-byte hole at the start of one direction
 * (`direction`: the client's requests or the server's responses) and `behind` bytes after
 * it, sent in `segment`-byte segments, all connections open at once (round robin), so
 * every byte behind every hole waits at the same time. Nothing ever fills the holes.
 */
export async function holes(w: PcapStream, o: { connections: number; behind: number; segment?: number; direction?: 'client' | 'server' }): Promise<void> {
  const segment = o.segment ?? 16 * 1024;
  const fromServer = o.direction === 'server';
  const filler = Buffer.alloc(segment, 0x61);
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < o.connections; i++) await handshake(w, ts++, ipv4(i + 1), 20000 + (i % 40000), 1000, 5000);
  for (let sent = 0; sent < o.behind; sent += segment) {
    const payload = sent + segment <= o.behind ? filler : filler.subarray(0, o.behind - sent);
    for (let i = 0; i < o.connections; i++) {
      const client = ipv4(i + 1);
      const sport = 20000 + (i % 40000);
      ts++;
      // Byte 0 of the stream (seq isn+1) is never sent: everything after it waits.
      if (fromServer) await w.tcp(ts, { src: SERVER, dst: client, sport: HTTP_PORT, dport: sport, seq: 5002 + sent, ack: 1001, flags: TCP.ACK, payload });
      else await w.tcp(ts, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: 1002 + sent, ack: 5001, flags: TCP.ACK, payload });
    }
  }
}

/**
 * `connections` connections that each send a SYN and the start of a request that never
 * ends (no response, no FIN): the table fills, evicts, and every evicted connection leaves
 * a request without a response. Distinct 4-tuples throughout.
 */
export async function synAndPartialRequest(w: PcapStream, o: { connections: number; requestBytes?: number; opaque?: boolean }): Promise<void> {
  const size = o.requestBytes ?? 300;
  // opaque: bytes no dissector claims at once (kept in the detection probe instead).
  const partial = o.opaque
    ? Buffer.alloc(size, 0x01)
    : Buffer.concat([Buffer.from('POST /orders HTTP/1.1\r\nHost: shop\r\nX-Pad: '), Buffer.alloc(Math.max(0, size - 40), 0x62)]);
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < o.connections; i++) {
    const client = ipv4(1 + Math.floor(i / 50000));
    const sport = 10000 + (i % 50000);
    ts += 10;
    await w.tcp(ts, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: 7000, ack: 0, flags: TCP.SYN });
    await w.tcp(ts + 1, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: 7001, ack: 0, flags: TCP.PSH, payload: partial });
  }
}

/** A DNS query for `name` with id `id` (RD set, one A question). */
export function dnsQuery(id: number, name: string): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

/** The response to `query` with no answers: QR, RD and RA set, NOERROR. */
export function dnsNoAnswers(query: Buffer): Buffer {
  const r = Buffer.from(query);
  r.writeUInt16BE(0x8180, 2);
  return r;
}

/** `queries` DNS queries, each from a distinct client endpoint, none answered. */
export async function unansweredDns(w: PcapStream, o: { queries: number }): Promise<void> {
  const resolver = ipv4(0xfffffd);
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < o.queries; i++) {
    ts += 5;
    await w.udp(ts, { src: ipv4(1 + Math.floor(i / 50000)), dst: resolver, sport: 10000 + (i % 50000), dport: 53, payload: dnsQuery(i, `host-${i % 1000}.shop.svc.cluster.local`) });
  }
}

/**
 * `calls` HTTP calls on one connection with a RST injected before each response: its
 * sequence number is `distance` bytes from the sender's next byte (far outside any window
 * when large), from the side `from`. Endpoints ignore such RSTs and go on.
 */
export async function spoofedResets(w: PcapStream, o: { calls: number; distance: number; from: 'client' | 'server' }): Promise<void> {
  const client = ipv4(7);
  const sport = 33333;
  let ts = 1_700_000_000_000_000;
  let cSeq = 100_000;
  let sSeq = 900_000;
  await handshake(w, ts, client, sport, cSeq - 1, sSeq - 1);
  for (let i = 0; i < o.calls; i++) {
    const req = request(`/items/${i}`);
    const res = response(`item ${i}`);
    ts += 1000;
    await w.tcp(ts, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: cSeq, ack: sSeq, flags: TCP.ACK | TCP.PSH, payload: req });
    cSeq += req.length;
    ts += 10;
    if (o.from === 'client') await w.tcp(ts, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: cSeq + o.distance, ack: 0, flags: TCP.RST });
    else await w.tcp(ts, { src: SERVER, dst: client, sport: HTTP_PORT, dport: sport, seq: sSeq + o.distance, ack: 0, flags: TCP.RST });
    ts += 10;
    await w.tcp(ts, { src: SERVER, dst: client, sport: HTTP_PORT, dport: sport, seq: sSeq, ack: cSeq, flags: TCP.ACK | TCP.PSH, payload: res });
    sSeq += res.length;
  }
  // The real end: an RST from the client at its next sequence number.
  await w.tcp(ts + 10, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: cSeq, ack: 0, flags: TCP.RST });
}

/**
 * IP fragments that never complete: `datagrams` first fragments of `size` bytes from
 * distinct sources, the last fragment never sent.
 */
export async function incompleteFragments(w: PcapStream, o: { datagrams: number; size: number }): Promise<void> {
  const data = Buffer.alloc(o.size & ~7, 0x63);
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < o.datagrams; i++) await w.fragment(ts++, ipv4(1 + (i % 1_000_000)), SERVER, i, 0, true, data);
}

/** Complete HTTP calls on fresh connections, for checking that healthy traffic still comes through. */
export async function healthyCalls(w: PcapStream, o: { calls: number; startTs?: number; clientBase?: number }): Promise<void> {
  let ts = o.startTs ?? 1_700_000_100_000_000;
  for (let i = 0; i < o.calls; i++) {
    const client = ipv4((o.clientBase ?? 0x800000) + i);
    const sport = 40000 + (i % 20000);
    await handshake(w, ts, client, sport, 10, 20);
    const req = request(`/healthy/${i}`);
    const res = response('ok');
    await w.tcp(ts + 1, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: 11, ack: 21, flags: TCP.ACK | TCP.PSH, payload: req });
    await w.tcp(ts + 2, { src: SERVER, dst: client, sport: HTTP_PORT, dport: sport, seq: 21, ack: 11 + req.length, flags: TCP.ACK | TCP.PSH, payload: res });
    await w.tcp(ts + 3, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: 11 + req.length, ack: 21 + res.length, flags: TCP.ACK | TCP.FIN });
    await w.tcp(ts + 4, { src: SERVER, dst: client, sport: HTTP_PORT, dport: sport, seq: 21 + res.length, ack: 12 + req.length, flags: TCP.ACK | TCP.FIN });
    await w.tcp(ts + 5, { src: client, dst: SERVER, sport, dport: HTTP_PORT, seq: 12 + req.length, ack: 22 + res.length, flags: TCP.ACK });
    ts += 10;
  }
}
