// `kubectl tap --pcap-out` on the live shop (the shared simulated cluster, kubectl tap as a
// plugin): the tappers' packet streams fanned in to one pcapng, one interface per node named
// after it. tshark reads the file; `kubectl tap read` of the file finds the calls of the live
// session (same ends, same first-byte time, same protocol), so the file holds one copy of the
// packets of each reported call and nothing of the calls left to another node. The only
// calls allowed to differ are those at the session's edges: a connection cut by the start or
// the end of the session, or a call marked incomplete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedCluster } from '../helpers/shared-cluster.js';
import { cliPath } from '../helpers/cli.js';
import { skipUnless, tool } from '../helpers/requirements.js';
import { kubectl, waitFor } from '../cluster/kubectl.js';
import { kubectlJson, ourObjects, startTap } from './live.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Calls that started this close to the first or last packet of the file are at the session's edges. */
const EDGE_MICROS = 2_000_000;
const TAP_NAMESPACE = 'tap-pcap-out';

const callKey = (e: Json) => `${e.protocol} ${e.src.ip}:${e.src.port} -> ${e.dst.ip}:${e.dst.port} @${e.timestamp}`;
const micros = (e: Json) => Date.parse(e.timestamp) * 1000;

test('kubectl tap --pcap-out on the shop: one pcapng, an interface per node, the calls of the session', { timeout: 300_000 }, async (t) => {
  if (skipUnless(t, tool('tshark', '-v'))) return;
  const cluster = await sharedCluster(t);
  if (!cluster) return;
  const kc = cluster.kubeconfig;
  await waitFor('the shop ready', async () => {
    const pods = await kubectlJson(kc, ['get', 'pods', '-n', 'shop']);
    const ready = pods.items.filter((p: Json) => p.status.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True'));
    return pods.items.length >= 11 && ready.length === pods.items.length ? true : undefined;
  }, 120_000);
  const work = mkdtempSync(join(tmpdir(), 'tap-pcap-out-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const file = join(work, 'x.pcapng');

  // --mesh off: the file holds the nodes' packets, and a call captured inside a meshed pod
  // (its loopback) is not in it, while its TLS leg, suppressed in the session, is
  // (docs/mesh.md). Node capture alone makes the two the same calls.
  const tap = startTap(kc, ['-n', 'shop', '--tap-namespace', TAP_NAMESPACE, '--mesh', 'off', '--pcap-out', file, '--duration', '25s']);
  const timer = setTimeout(() => tap.child.kill('SIGKILL'), 200_000);
  const code = await tap.exited;
  clearTimeout(timer);
  const stderr = tap.stderr();
  assert.equal(code, 0, stderr);
  assert.match(stderr, /--pcap-out .*x\.pcapng: writing raw packets, with the credentials and bodies that entries redact/);
  assert.deepEqual((await ourObjects(kc)).filter((o) => o.includes(TAP_NAMESPACE)), [], 'the stack is gone');
  const live: Json[] = tap.lines.map((l) => JSON.parse(l));
  assert.ok(live.length > 50, `${live.length} entries`);
  assert.ok(statSync(file).size > 0);

  // tshark reads the whole file; its interfaces are the nodes that reported calls.
  const nodes = new Set((await kubectlJson(kc, ['get', 'nodes'])).items.map((n: Json) => n.metadata.name));
  const shark = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.encap_type'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(shark.status, 0, shark.stderr);
  const frames = shark.stdout.trim().split('\n').map((l) => l.split('\t'));
  assert.ok(frames.length > live.length, `${frames.length} packets for ${live.length} calls`);
  const interfaces = new Set(frames.map((f) => f[0]));
  const reporting = new Set(live.map((e) => e.node));
  assert.deepEqual([...interfaces].sort(), [...reporting].sort(), 'one interface per node that reported a call, named after it');
  for (const name of interfaces) assert.ok(nodes.has(name), `${name} is a node`);
  // The nodes capture on `any`: Linux cooked capture (SLL or SLL2), as the tappers' captures are.
  assert.ok(frames.every((f) => /^(25|210)$/.test(f[1]!)), `encapsulations: ${[...new Set(frames.map((f) => f[1]))].join(', ')}`);

  // The calls in the file are the session's.
  const read = spawnSync(cliPath, ['read', file, '-q'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(read.status, 0, read.stderr);
  const fromFile: Json[] = read.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const allTimes = [...live, ...fromFile].map(micros);
  const first = Math.min(...allTimes);
  const last = Math.max(...allTimes);
  const atEdge = (e: Json) => e.incomplete === true || micros(e) - first < EDGE_MICROS || last - micros(e) < EDGE_MICROS;
  const liveKeys = new Set(live.map(callKey));
  const fileKeys = new Set(fromFile.map(callKey));
  const onlyLive = live.filter((e) => !fileKeys.has(callKey(e)));
  const onlyFile = fromFile.filter((e) => !liveKeys.has(callKey(e)));
  const show = (list: Json[]) => list.slice(0, 8).map((e) => `${callKey(e)} ${e.summary}${e.incomplete ? ' (incomplete)' : ''} [${((micros(e) - first) / 1e6).toFixed(2)} s from the start, ${((last - micros(e)) / 1e6).toFixed(2)} s before the end]`).join('\n  ');
  assert.deepEqual(onlyLive.filter((e) => !atEdge(e)).map(callKey), [], `calls of the session missing from the file, away from its edges:\n  ${show(onlyLive.filter((e) => !atEdge(e)))}`);
  assert.deepEqual(onlyFile.filter((e) => !atEdge(e)).map(callKey), [], `calls in the file the session did not report:\n  ${show(onlyFile.filter((e) => !atEdge(e)))}`);
  // Counted per protocol, the rest is the same calls.
  const perProtocol = (list: Json[]) => {
    const counts: Record<string, number> = {};
    for (const e of list) counts[e.protocol] = (counts[e.protocol] ?? 0) + 1;
    return counts;
  };
  const edgeLive = new Set(onlyLive.map(callKey));
  const edgeFile = new Set(onlyFile.map(callKey));
  assert.deepEqual(perProtocol(fromFile.filter((e) => !edgeFile.has(callKey(e)))), perProtocol(live.filter((e) => !edgeLive.has(callKey(e)))));
  assert.ok(onlyLive.length + onlyFile.length <= Math.max(5, live.length * 0.05), `${onlyLive.length} + ${onlyFile.length} calls differ at the edges, of ${live.length}:\n  ${show([...onlyLive, ...onlyFile])}`);
  // One copy of each packet: tshark sees no duplicate of a TCP segment in the file.
  const dups = spawnSync('tshark', ['-r', file, '-Y', 'tcp.analysis.duplicate_ack_frame == 0 and tcp.analysis.retransmission', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(dups.status, 0, dups.stderr);
  const retransmissions = dups.stdout.trim().split('\n').filter(Boolean).length;
  assert.ok(retransmissions <= frames.length / 100, `${retransmissions} of ${frames.length} packets look retransmitted to tshark: packets written twice?`);
  const counted = await kubectl(kc, ['get', 'namespaces', TAP_NAMESPACE]);
  assert.notEqual(counted.code, 0, 'the tap namespace is gone');
  process.stderr.write(`pcap-out on the shop: ${live.length} calls live, ${fromFile.length} in the file, ${frames.length} packets, ${retransmissions} retransmissions by tshark, edges: ${onlyLive.length} + ${onlyFile.length}\n`);
});
