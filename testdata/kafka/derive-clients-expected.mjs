// Derives clients.expected.json from tshark's dissection of clients.pcap, not from our
// engine: per request (in capture order) the api, version, client id, correlation id and
// topics; the records of each Produce with its batches' codecs; the record keys of each Fetch
// response (paired by client port and correlation id). tshark shows a Metadata request's
// null topic array (all topics) and an empty one alike, so that one field is read from the
// request's own bytes (v0-v8 encoding: an int32 count, -1 for null). The test derives it
// again and compares (test/protocols/kafka.test.ts).
// Usage: node testdata/kafka/derive-clients-expected.mjs [capture] [port]   (JSON on stdout)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const API_NAMES = { 0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 18: 'ApiVersions' };
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const FIELDS = ['tcp.srcport', 'tcp.dstport', 'kafka.api_key', 'kafka.api_version', 'kafka.correlation_id', 'kafka.client_id', 'kafka.topic_name', 'kafka.batch_codec', 'kafka.message_key', 'kafka.message_value', 'tcp.payload'];

export function deriveExpected(capture, port) {
  const out = execFileSync('tshark', ['-r', capture, '-d', `tcp.port==${port},kafka`, '-Y', 'kafka', '-T', 'fields', '-E', 'occurrence=a', ...FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  const list = (s) => (s ? s.split(',') : []);
  const text = (hex) => Buffer.from(hex, 'hex').toString('utf8');
  const requests = [];
  const responses = new Map();
  for (const line of out.split('\n').filter(Boolean)) {
    const [src, dst, apiKeys, version, corr, clientId, topics, codecs, keys, values, payload] = line.split('\t');
    if (list(corr).length !== 1) throw new Error(`one Kafka message a frame expected, got correlation ids ${corr}`);
    const row = { api: Number(apiKeys), corr: Number(corr), clientPort: Number(Number(dst) === port ? src : dst), topics: list(topics), codecs: list(codecs), keys: list(keys).map(text), values: list(values).map(text), payload };
    if (Number(dst) === port) requests.push({ ...row, version: Number(version), clientId });
    else responses.set(`${row.clientPort}/${row.corr}`, row);
  }
  return requests.map((r) => {
    const entry = { apiKey: API_NAMES[r.api] ?? String(r.api), apiVersion: r.version, clientId: r.clientId, correlationId: r.corr, topics: topicsOf(r) };
    if (r.api === 0) Object.assign(entry, { records: r.keys.map((k, i) => [k, r.values[i]]), codecs: r.codecs.map((c) => CODECS[Number(c)]) });
    if (r.api === 1) entry.responseRecords = responses.get(`${r.clientPort}/${r.corr}`)?.keys ?? null;
    return entry;
  });
}

function topicsOf(r) {
  if (r.api === 18) return null;
  if (r.api !== 3) return [...new Set(r.topics)];
  if (r.version > 8) throw new Error('flexible Metadata requests are not read here');
  const bytes = Buffer.from(r.payload, 'hex');
  const clientIdLength = bytes.readInt16BE(12);
  const count = bytes.readInt32BE(14 + Math.max(0, clientIdLength));
  return count < 0 ? null : r.topics;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const capture = process.argv[2] ?? fileURLToPath(new URL('clients.pcap', import.meta.url));
  process.stdout.write(`${JSON.stringify(deriveExpected(capture, Number(process.argv[3] ?? 19092)), null, 1)}\n`);
}
