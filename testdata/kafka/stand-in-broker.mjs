// A single-node stand-in Kafka broker for recording real clients' traffic (test-only).
// There is no Kafka broker in Debian or npm, so this lets kafkajs and kcat (librdkafka) send
// their own, real request bytes. It answers with the wire encodings of the Kafka protocol
// guide (broker-data.mjs: topics and records; broker-groups.mjs: the group coordinator;
// broker-codec.mjs: classic and flexible encodings), keeps produced record batches in memory
// and serves them back. Deliberately independent of src/: it must not share a bug with the
// dissector it feeds. Two profiles of advertised versions:
//   legacy    ApiVersions 0-3, Metadata 0-5, Produce 3, Fetch 4, ListOffsets 1 (clients.pcap)
//   flexible  every API the files implement, up to and including flexible versions (groups.pcap)
//   old       legacy without ApiVersions v3, like a broker before Kafka 2.4 (old-broker.pcap)
//   codecs    flexible, with Produce and Fetch advertised from v0 as real brokers do: librdkafka
//             compresses only for a broker whose version ranges show the codec's Kafka release
//             (codecs.pcap)
// Requests are answered in order per connection, as a broker does, even when a Fetch waits.
// Usage: node stand-in-broker.mjs PORT [legacy|flexible|old]   (exits on SIGTERM/SIGINT)
import { appendFileSync } from 'node:fs';
import net from 'node:net';
import { In, Out } from './broker-codec.mjs';
import { apiVersions, createTopics, fetch, listOffsets, metadata, newState, produce } from './broker-data.mjs';
import { findCoordinator, heartbeat, joinGroup, leaveGroup, offsetCommit, offsetFetch, syncGroup } from './broker-groups.mjs';

// BROKER_JOURNAL=FILE: one JSON line per request with what this broker parsed and answered
// (the ground truth record-groups.sh keeps as groups.expected.json).
const journal = process.env.BROKER_JOURNAL;
const port = Number(process.argv[2] ?? 19092);
const profile = process.argv[3] ?? 'legacy';
const host = '127.0.0.1';

const profiles = {
  legacy: { 0: [3, 3], 1: [4, 4], 2: [1, 1], 3: [0, 5], 18: [0, 3] },
  // A broker from before KIP-511: ApiVersions v3 gets UNSUPPORTED_VERSION in a v0 body.
  old: { 0: [3, 3], 1: [4, 4], 2: [1, 1], 3: [0, 5], 18: [0, 2] },
  flexible: {
    0: [3, 9], 1: [4, 12], 2: [1, 7], 3: [0, 9], 8: [0, 8], 9: [1, 7], 10: [0, 4], 11: [0, 7],
    12: [0, 4], 13: [0, 5], 14: [0, 5], 18: [0, 3], 19: [0, 7],
  },
};
profiles.codecs = { ...profiles.flexible, 0: [0, 9], 1: [0, 12] };
const supported = profiles[profile];
if (!supported) throw new Error(`unknown profile ${profile}`);
// First flexible version of each API this broker knows (KIP-482).
const flexibleFrom = { 0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 18: 3, 19: 5 };
const names = {
  0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 8: 'OffsetCommit', 9: 'OffsetFetch', 10: 'FindCoordinator',
  11: 'JoinGroup', 12: 'Heartbeat', 13: 'LeaveGroup', 14: 'SyncGroup', 18: 'ApiVersions', 19: 'CreateTopics',
};
const handlers = {
  0: produce, 1: fetch, 2: listOffsets, 3: metadata, 8: offsetCommit, 9: offsetFetch, 10: findCoordinator,
  11: joinGroup, 12: heartbeat, 13: leaveGroup, 14: syncGroup, 18: apiVersions, 19: createTopics,
};
const state = newState(host, port);

/** The response frame for one request, or null when none is sent (Produce acks=0). */
async function handle(frame, note) {
  const r = new In(frame);
  const key = r.i16(), v = r.i16(), corr = r.i32();
  const clientId = r.str(false); // request header v1/v2: the client id is never compact
  const req = { apiKey: names[key] ?? `ApiKey${key}`, apiKeyCode: key, apiVersion: v, correlationId: corr, clientId };
  const res = { correlationId: corr };
  note.request = req;
  note.response = res;
  const flex = v >= (flexibleFrom[key] ?? Infinity);
  r.tags(flex);
  const out = new Out().i32(corr);
  if (flex && key !== 18) out.tags(true); // response header v1; ApiVersions keeps v0
  const range = supported[key];
  if (!range || v < range[0] || v > range[1]) {
    if (key !== 18) return 'close';
    // UNSUPPORTED_VERSION in a v0 body listing the ApiVersions range (KIP-511), as Kafka
    // brokers answer, so the client can read it and retry lower.
    out.parts.length = 1;
    out.i16(35).arr([[18, supported[18]]], false, ([k, [min, max]]) => out.i16(k).i16(min).i16(max));
    Object.assign(res, { errorCode: 35, apiKeyCount: 1, apiVersions: { 18: `${supported[18][0]}-${supported[18][1]}` } });
  } else if ((await handlers[key](state, { v, flex, clientId, supported, req, res }, r, out)) === false) return null;
  const body = out.buf();
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

const server = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  let queue = Promise.resolve();
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
      buf = buf.subarray(4 + frame.length);
      const note = { clientPort: sock.remotePort };
      const answer = handle(frame, note).catch((err) => {
        process.stderr.write(`stand-in broker: cannot answer api ${frame.readInt16BE(0)} v${frame.readInt16BE(2)}: ${err.stack}\n`);
        return 'close';
      });
      if (process.env.BROKER_LOG) process.stderr.write(`req ${frame.readInt16BE(0)} v${frame.readInt16BE(2)}\n`);
      queue = queue.then(async () => {
        const res = await answer;
        const sent = res !== 'close' && res !== null && !sock.destroyed && !sock.writableEnded;
        if (res === 'close') sock.destroy();
        else if (sent) sock.write(res);
        if (journal) appendFileSync(journal, `${JSON.stringify({ ...note, response: sent ? note.response : null })}\n`);
      });
    }
  });
  sock.on('error', () => {});
});
server.listen(port, host, () => process.stdout.write(`listening ${port} (${profile})\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
