// Derives NAME.expected.json for one capture from the server's ground-truth log
// (NAME.truth.jsonl, written by server.mjs) and from tshark reading the capture. Never from
// our engine's output: these files are what the engine is checked against.
//
// Usage: node derive-expected.mjs NAME PORT [PORT...]   (ports the servers listened on)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...portArgs] = process.argv.slice(2);
const ports = portArgs.map(Number);
const capture = existsSync(join(here, `${name}.pcap`)) ? `${name}.pcap` : `${name}.pcapng`;
const capturePath = join(here, capture);

/** What a capture cannot show, and why the tolerance is what it is. */
const notes = {
  'ethernet-mixed': 'Everything the clients sent is in the capture (tcpdump started before the first SYN, stopped after the last FIN). Frames on a veth can be GSO super-frames larger than the MTU and carry partial TCP checksums: both are what tcpdump on a Linux host really records.',
  'any-sll2': 'Loopback inside a namespace, tcpdump -i any (LINUX_SLL2).',
  'any-sll': 'Loopback inside a namespace, tcpdump -i any -y LINUX_SLL.',
  ipv6: 'Loopback ::1 inside a namespace.',
  nanosecond: 'Loopback inside a namespace, --time-stamp-precision=nano (pcap magic a1b23c4d).',
  vlan: 'Every frame carries an 802.1Q tag (VLAN 100). The kernel here has no VLAN module, so the tags were inserted by a SPAN-style mirror (impair.py --no-impair --mirror) on the path between client and server namespaces, as a switch monitor port on a trunk would deliver them; the traffic itself is real and untouched.',
  impaired: 'Captured on the server side of a user-space bridge that dropped, delayed (reordered) and duplicated frames; TCP retransmitted for real, so the capture has out-of-order segments, retransmissions and duplicates but no data the server did not also receive or send. The capture spans every connection from SYN to FIN, so tolerance is 0: every transaction is recoverable. See impaired.bridge-stats.json for what the bridge did.',
  midstream: 'The keep-alive connection made 2 requests before tcpdump started (not in the capture, so not expected here: only requests the server logged after the first captured packet count); the capture has no SYN for it.',
  'multi-interface': 'mergecap -F pcapng of nanosecond.pcap (Ethernet, ns resolution) and any-sll2.pcap (LINUX_SLL2, us resolution): two interfaces with different link types; its truth is the union of both logs.',
  wrk: 'wrk -t1 -c8 stopped by wrk-bounded.lua after 2000 responses; requests in flight on the other connections when it stopped were served or cut. The server log is the truth: a request the server read but whose response it never finished is not in the log.',
};

const truthAll = readFileSync(join(here, `${name}.truth.jsonl`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

function tshark(...args) {
  return execFileSync('tshark', ['-n', '-r', capturePath, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
}

// Only requests the capture can hold: those the server started after the first captured packet.
const firstPacketMs = Number(tshark('-c', '1', '-T', 'fields', '-e', 'frame.time_epoch').trim()) * 1000;
const truth = truthAll.filter((r) => r.t >= firstPacketMs - 2);

function countBy(values) {
  const out = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function queryObject(raw) {
  const out = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    if (k in out) out[k] = Array.isArray(out[k]) ? [...out[k], v] : [out[k], v];
    else out[k] = v;
  }
  return out;
}

function keyFields(r) {
  const fields = {
    method: r.method, path: r.path, query: queryObject(r.query), httpVersion: r.httpVersion, status: r.status,
    requestBodySize: r.reqBodySize, responseBodySize: r.resBodySize,
  };
  if (r.contentEncoding) Object.assign(fields, { contentEncoding: r.contentEncoding, responseBodyWireSize: r.resWireSize });
  if (r.trailers) fields.responseTrailers = r.trailers;
  return fields;
}

// A handful of specific requests, each identified by method + path + query: the first request
// with that key in time order (the test looks for the first entry with the same key).
const keyOf = (r) => `${r.method} ${r.path}?${r.query}`;
const seen = new Set();
const unique = [...truth].sort((a, b) => a.t - b.t).filter((r) => !seen.has(keyOf(r)) && seen.add(keyOf(r)));
let selected;
if (name === 'ethernet-mixed') selected = unique.filter((r) => !/^\/(pipe|ka)\//.test(r.path) || r.path === '/pipe/1' || r.path === '/pipe/10');
else if (name === 'impaired') {
  const bySize = [...unique].sort((a, b) => b.reqBodySize + b.resBodySize - (a.reqBodySize + a.resBodySize));
  selected = [...unique.slice(0, 3), ...bySize.slice(0, 3)];
} else selected = unique.slice(0, 8);

const tsharkOptions = ['-o', 'tcp.reassemble_out_of_order:TRUE', ...ports.flatMap((p) => ['-d', `tcp.port==${p},http`])];
const fieldValues = (filter, field) => tshark(...tsharkOptions, '-Y', filter, '-T', 'fields', '-e', field)
  .split('\n').filter(Boolean).flatMap((line) => line.split(','));
const tsharkMethods = fieldValues('http.request', 'http.request.method');
const tsharkCodes = fieldValues('http.response', 'http.response.code');

// When the first request's first byte was captured, to the capture's own resolution (tshark
// prints nine decimals): the earliest entry's timestamp is this, truncated to microseconds.
const firstRequestEpoch = tshark(...tsharkOptions, '-Y', 'http.request', '-T', 'fields', '-e', 'frame.time_epoch').split('\n')[0].trim();

const expected = {
  capture,
  serverPorts: ports,
  source: 'server.mjs ground-truth log (NAME.truth.jsonl) for the transactions; tshark for the tshark block',
  transactions: truth.length,
  firstRequestEpoch,
  tolerance: 0,
  methods: countBy(truth.map((r) => r.method)),
  statuses: countBy(truth.map((r) => String(r.status))),
  notes: notes[name] ?? '',
  requests: selected.slice(0, 25).map(keyFields),
  tshark: {
    version: execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    options: tsharkOptions,
    requests: tsharkMethods.length,
    methods: countBy(tsharkMethods),
    responseCodes: countBy(tsharkCodes),
  },
};
writeFileSync(join(here, `${name}.expected.json`), JSON.stringify(expected, null, 2) + '\n');
const agree = tsharkMethods.length === truth.length;
console.error(`${name}: ${truth.length} transactions (truth), tshark ${tsharkMethods.length} requests / ${tsharkCodes.length} responses${agree ? '' : '  <-- differs'}`);
