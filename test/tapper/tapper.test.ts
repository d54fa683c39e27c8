// The tapper as a real process in a node namespace with target pods (topology.ts), capturing
// live with libpcap on `any`: real HTTP, gRPC, Redis and DNS traffic between the pods, each
// call counted by its client and found exactly once on /entries (validated against the
// schema); the token, pushed-down filters, a consumer that stops reading, targets changing
// under a long-lived connection, the same-node DNAT and several-interfaces copies, the
// ownership rule, and SIGTERM. Root only (namespaces, veths, iptables, packet sockets).
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliPath, repoRoot } from '../helpers/cli.js';
import { entryFlowKey } from '../../src/sink/flow-hold.js';
import { PcapngWriter } from '../../src/sink/pcapng-writer.js';
import { assertValidEntries } from '../helpers/schema.js';
import { TapperClient, waitFor, type EntryStream } from './tapper-client.js';
import { addClusterIp, buildTopology, waitForLine, type Topology } from './topology.js';
import { launchTapper } from '../image/tapper-launch.js';

const isRoot = process.getuid?.() === 0;
const missing = ['ip', 'iptables', 'redis-server', 'dnsmasq', 'openssl', 'tshark'].filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
const skip = !isRoot ? 'needs root: network namespaces, veths, iptables and packet sockets' : missing.length > 0 ? `missing ${missing.join(', ')}` : false;
if (skip) process.stderr.write(`SKIPPING test/tapper/tapper.test.ts: ${skip}\n`);

const NODE = 'node-1';
const SERVICE_PORT = 80;
/** After the last expected entry, copies (if any were let through) would follow within this. */
const SETTLE_MS = 600;
const CONSUMER_QUEUE_MIB = 8;

describe('tapper daemon on a node namespace', { skip, concurrency: false }, () => {
  let t: Topology;
  let tapper: ChildProcess;
  let tapperExit: Promise<number | null>;
  let api: TapperClient;
  let client: WorkloadClient;
  let main: EntryStream;
  const token = randomBytes(24).toString('hex');

  const pod = (name: string) => t.pods[name]!;
  const targetPod = (name: string, node = NODE) => ({
    ip: pod(name).ip, uid: `uid-${name}`, namespace: 'shop', name, node, hostNetwork: false, sidecar: null,
  });
  const webService = () => ({
    namespace: 'shop', name: 'web', clusterIPs: [t.serviceIp],
    ports: [{ port: SERVICE_PORT, targetPort: 8080, protocol: 'TCP' }], endpoints: [pod('b').ip],
  });
  const putTargets = async (session: string, pods: unknown[], services: unknown[] = [webService()]) => {
    const r = await api.request('PUT', `/targets?session=${session}`, { body: { node: NODE, ttl: 120, pods, services } });
    assert.equal(r.status, 204, r.body);
  };
  const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));
  /** The entries after the first `before` on the main stream: exactly one per path, valid. */
  const httpEntriesAfter = async (before: number, paths: string[], timeoutMs?: number) => {
    await main.until((s) => s.entries.length >= before + paths.length, timeoutMs);
    await settle();
    const entries = main.entries.slice(before);
    assertValidEntries(entries);
    try {
      assertOncePerKey(entries, (e) => e.request.path, paths);
    } catch (err) {
      const stats = await api.stats();
      throw new Error(`${(err as Error).message}: ${JSON.stringify((err as any).actual)}\n${JSON.stringify({ capture: stats.capture, engine: stats.engine, connections: stats.connections, got: entries.slice(-3).map((e) => [e.timestamp, e.summary]), now: new Date().toISOString() })}`);
    }
    assert.equal(entries.length, paths.length);
    return entries;
  };

  before(async () => {
    if (!existsSync(join(repoRoot, 'dist', 'tapper.js'))) {
      const b = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
      assert.equal(b.status, 0, 'build failed');
    }
    t = await buildTopology(['a', 'b', 'c', 'd']);
    await addClusterIp(t, SERVICE_PORT, pod('b').ip, 8080);
    const tokenFile = join(t.dir, 'token');
    writeFileSync(tokenFile, `${token}\n`);

    const server = t.spawnIn(pod('b').netns, process.execPath, ['--import', 'tsx', 'test/tapper/workload.ts', 'serve']);
    const redis = t.spawnIn(pod('c').netns, 'redis-server', ['--port', '6379', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', t.dir]);
    const dns = t.spawnIn(pod('c').netns, 'dnsmasq', ['--keep-in-foreground', '--no-resolv', '--no-hosts', '--address=/tap.test/10.9.9.9',
      `--listen-address=${pod('c').ip}`, '--bind-interfaces', '--user=root', '--pid-file', '--log-facility=-']);
    const tapperArgs = ['--listen', '127.0.0.1:8449', '--token-file', tokenFile, '--node-name', NODE,
      '--interface', 'any', '--consumer-queue', `${CONSUMER_QUEUE_MIB}MiB`, '--heartbeat', '1'];
    // as a process, or the image as a container (test/image/tapper-suite.test.ts runs this file so)
    tapper = launchTapper(t.nodeNetns, tokenFile, tapperArgs, () => t.spawnIn(t.nodeNetns, process.execPath, ['dist/tapper.js', ...tapperArgs]));
    tapperExit = new Promise((resolve) => tapper.on('exit', (code) => resolve(code)));
    let tapperLog = '';
    tapper.stderr!.on('data', (d) => (tapperLog += d));
    tapper.on('exit', (code) => code !== 0 && process.stderr.write(`tapper exited ${code}: ${tapperLog}`));
    await Promise.all([
      waitForLine(server, /^ready$/),
      waitForLine(redis, /Ready to accept connections/),
      waitForLine(dns, /started/),
      waitForLine(tapper, /serving on/),
    ]);
    api = new TapperClient(t.relaySocket, '127.0.0.1', 8449, token);
    client = new WorkloadClient(t.spawnIn(pod('a').netns, process.execPath, ['--import', 'tsx', 'test/tapper/workload.ts', 'client']));
  });

  after(async () => {
    main?.close();
    client?.close();
    if (tapper && tapper.exitCode === null) tapper.kill('SIGKILL');
    await t?.teardown();
  });

  test('nothing but /healthz without the token, and not with a wrong one', async () => {
    assert.equal((await api.request('GET', '/healthz', { token: null })).status, 200);
    for (const tokenValue of [null, 'wrong-token-of-some-length', `${token}x`, token.slice(0, -1)]) {
      for (const [method, path] of [['GET', '/entries?session=x'], ['GET', '/packets?session=x'], ['GET', '/stats'], ['PUT', '/targets?session=x'], ['GET', '/nothing']] as const) {
        const r = await api.request(method, path, { token: tokenValue, body: method === 'PUT' ? { pods: [] } : undefined });
        assert.equal(r.status, 401, `${method} ${path} with token ${tokenValue}`);
        assert.deepEqual(Object.keys(JSON.parse(r.body)), ['error']);
      }
    }
    assert.equal((await api.request('GET', '/stats')).status, 200);
  });

  test('an invalid filter is a 400 with the compiler message; a bad targets body too', async () => {
    const r = await api.request('GET', `/entries?session=s1&filter=${encodeURIComponent('response.status >=')}`);
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).error, /invalid filter/);
    const bad = await api.request('PUT', '/targets?session=s1', { body: { pods: [{ ip: '10.0.0.1; rm -rf', node: NODE }] } });
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error, /pods\[0\]\.ip must be an IP address/);
  });

  test('HTTP, gRPC, Redis and DNS between pods: each call once, counted against the clients', async () => {
    await putTargets('s1', [targetPod('a'), targetPod('b'), targetPod('c')]);
    main = await api.stream('s1');
    const grpcOnly = await api.stream('s1', "protocol = 'grpc'");
    const paths = range(20).map((i) => `/direct/${i}`);
    const names = range(10).map((i) => `hello-${i}`);
    const keys = range(15).map((i) => `key-${i}`);
    const hosts = range(5).map((i) => `q${i}.tap.test`);
    const http = await client.ask({ op: 'http', target: `${pod('b').ip}:8080`, paths });
    const grpc = await client.ask({ op: 'grpc', target: `${pod('b').ip}:50051`, names });
    const redis = await client.ask({ op: 'redis', target: `${pod('c').ip}:6379`, keys });
    const dns = await client.ask({ op: 'dns', server: pod('c').ip, names: hosts });
    assert.deepEqual([http.ok, grpc.ok, redis.ok, dns.answered], [20, 10, 30, 5], 'the clients themselves saw every call succeed');

    const want = http.ok + grpc.ok + redis.ok + dns.answered;
    await main.until((s) => s.entries.length >= want);
    await settle();
    const entries = main.entries;
    assertValidEntries(entries);
    assertOncePerKey(entries.filter((e) => e.protocol === 'http'), (e) => e.request.path, paths);
    assertOncePerKey(entries.filter((e) => e.protocol === 'grpc'), (e) => e.request.messages?.[0]?.value?.['1'], names);
    assertOncePerKey(entries.filter((e) => e.protocol === 'redis'), (e) => `${e.request.command} ${e.request.key}`, keys.flatMap((k) => [`SET ${k}`, `GET ${k}`]));
    assertOncePerKey(entries.filter((e) => e.protocol === 'dns'), (e) => e.request.questions?.[0]?.name ?? e.request.name, hosts);
    assert.equal(entries.length, want, `exactly the clients' calls: ${entries.map((e) => e.summary).join(' | ')}`);
    for (const e of entries) {
      assert.equal(e.node, NODE);
      assert.equal(e.src.ip, pod('a').ip);
      assert.deepEqual(e.capture, { local: ['src', 'dst'] }, 'both ends are local targets, nothing dialled');
      assert.ok(e.response !== null, `${e.summary}: response seen`);
    }

    // The pushed-down filter: only gRPC crossed the wire; /stats counts the rest as filtered out.
    await grpcOnly.until((s) => s.entries.length >= grpc.ok);
    await settle();
    assert.deepEqual(grpcOnly.entries.map((e) => e.protocol), Array(grpc.ok).fill('grpc'));
    const stats = await api.stats();
    const filtered = stats.consumers.find((c: any) => c.filter === "protocol = 'grpc'");
    assert.equal(filtered.emitted, grpc.ok);
    assert.equal(filtered.filteredOut, want - grpc.ok);
    grpcOnly.close();

    // Several interfaces: every packet crossed the client's and the server's veth, both captured under `any`.
    assert.ok(stats.engine['node.duplicatePackets'] > 0, 'copies on the second interface were seen and dropped');
    assert.equal(stats.capture.interface, 'any');
    assert.ok(stats.capture.received > 0 && stats.capture.packets > 0 && stats.capture.bytes > 0);
    assert.equal(typeof stats.capture.droppedKernel, 'number');
    assert.equal(typeof stats.capture.droppedInterface, 'number');
    // One budget for the daemon: the engine's share, the kernel rings and the queues add up to it.
    const budget = stats.memory.budget;
    assert.equal(budget.limit, 256 * 1024 * 1024);
    assert.equal(budget.engine.limit + budget.kernelBuffers.limit + budget.consumerQueues.limit, budget.limit);
    assert.ok(stats.memory.kernelBuffers > 0 && stats.memory.kernelBuffers <= budget.kernelBuffers.limit);
    assert.ok(budget.used >= stats.memory.kernelBuffers + budget.engine.used);
  });

  test('same-node DNAT: a call to the ClusterIP is one entry, dst the pod, dialled the Service', async () => {
    const before = main.entries.length;
    const paths = range(12).map((i) => `/via-service/${i}`);
    const http = await client.ask({ op: 'http', target: `${t.serviceIp}:${SERVICE_PORT}`, paths });
    assert.equal(http.ok, paths.length);
    const entries = await httpEntriesAfter(before, paths);
    for (const e of entries) {
      assert.deepEqual([e.dst.ip, e.dst.port], [pod('b').ip, 8080], 'the copy that knows the pod is kept');
      assert.deepEqual(e.capture?.dialed, { ip: t.serviceIp, port: SERVICE_PORT });
      assert.deepEqual(e.capture?.local, ['src', 'dst']);
    }
    const stats = await api.stats();
    assert.ok(stats.engine['node.preDnatPackets'] > 0, 'the pre-DNAT copy was seen and kept out');
  });

  test('targets change under a long-lived connection: every call once, no gap', async () => {
    const gapsBefore = gapCounters((await api.stats()).engine);
    const opened = (await api.stats()).capture.handlesOpened;
    const before = main.entries.length;
    const paths = range(60).map((i) => `/long-lived/${i}`);
    // The client keeps one keep-alive socket (maxSockets 1) while targets change three times.
    const calls = client.ask({ op: 'http', target: `${pod('b').ip}:8080`, paths, delayMs: 10 });
    const changes = (async () => {
      for (const extra of [['d'], [], ['d']]) {
        await new Promise((r) => setTimeout(r, 150));
        await putTargets('s1', [targetPod('a'), targetPod('b'), targetPod('c'), ...extra.map((n) => targetPod(n))]);
      }
    })();
    const [http] = await Promise.all([calls, changes]);
    assert.equal(http.ok, paths.length);
    const entries = await httpEntriesAfter(before, paths);
    assert.equal(new Set(entries.map((e) => e.src.port)).size, 1, 'one connection carried every call');
    const stats = await api.stats();
    assert.equal(stats.capture.handlesOpened, opened + 3, 'each change opened a new handle');
    assert.deepEqual(gapCounters(stats.engine), gapsBefore, 'no gap counted across the switches');

    // UDP has no reassembly to trim copies: DNS queries while the handles overlap still come once.
    const beforeDns = main.entries.length;
    const hosts = range(12).map((i) => `overlap${i}.tap.test`);
    const dnsCalls = client.ask({ op: 'dns', server: pod('c').ip, names: hosts });
    await new Promise((r) => setTimeout(r, 20));
    await putTargets('s1', [targetPod('a'), targetPod('b'), targetPod('c')]);
    const dns = await dnsCalls;
    assert.equal(dns.answered, hosts.length);
    await main.until((s) => s.entries.length >= beforeDns + hosts.length);
    await settle();
    const dnsEntries = main.entries.slice(beforeDns);
    assertOncePerKey(dnsEntries, (e) => e.request.questions?.[0]?.name ?? e.request.name, hosts);
  });

  test('ownership: a call whose client is a target on another node is left to that node', async () => {
    // Session s2 believes pod a runs on node-2: its tapper reports a's calls, this one does not.
    await putTargets('s2', [targetPod('a', 'node-2'), targetPod('b')]);
    const other = await api.stream('s2');
    const before = main.entries.length;
    const paths = range(8).map((i) => `/owned/${i}`);
    const http = await client.ask({ op: 'http', target: `${pod('b').ip}:8080`, paths });
    assert.equal(http.ok, paths.length);
    await httpEntriesAfter(before, paths);
    assert.deepEqual(other.entries, [], 'session s2 got none of them');
    assert.ok(other.markers('heartbeat').length > 0, 'but its stream is alive');
    const stats = await api.stats();
    assert.equal(stats.sessions.s2.otherNode, paths.length);
    assert.ok(stats.engine['ownership.otherNode'] >= paths.length);
    other.close();
    const gone = await api.request('DELETE', '/targets?session=s2');
    assert.equal(gone.status, 204);
  });

  test('a consumer that stops reading: bounded, its drops counted and marked; the other gets everything', async () => {
    const stalled = await api.stream('s1');
    stalled.res.pause();
    const rssBefore = (await api.stats()).memory.rss;
    const before = main.entries.length;
    // ~29 MB of entries, more than the stalled stream's queue and socket buffers hold; paced
    // so that a reader that does read keeps up on a machine shared with other work.
    const paths = range(600).map((i) => `/big/${i}`);
    const http = await client.ask({ op: 'http', target: `${pod('b').ip}:8080`, paths, bodySize: 48 * 1024, delayMs: 4 });
    assert.equal(http.ok, paths.length);
    await main.until((s) => s.entries.length >= before + paths.length, 60_000);
    await settle();
    const stats = await api.stats();
    const context = JSON.stringify({ capture: stats.capture, consumers: stats.consumers, engine: stats.engine });
    assert.equal(main.entries.length - before, paths.length, context);
    assertOncePerKey(main.entries.slice(before), (e) => e.request.path, paths);

    const slow = stats.consumers.find((c: any) => c.session === 's1' && c.dropped > 0);
    assert.ok(slow, `the stalled consumer dropped entries: ${JSON.stringify(stats.consumers)}`);
    assert.ok(slow.maxQueuedBytes <= slow.queueLimitBytes, 'its queue never passed its bound');
    const fast = stats.consumers.find((c: any) => c !== slow && c.session === 's1' && c.filter === null);
    assert.equal(fast.dropped, 0);
    // The stalled stream holds at most its queue plus socket buffers, whatever went by.
    assert.ok(stats.memory.rss - rssBefore < (CONSUMER_QUEUE_MIB + 64) * 1024 * 1024, `RSS grew by ${stats.memory.rss - rssBefore}`);

    // Reading again: what was queued arrives, then the marker with the count.
    stalled.res.resume();
    const droppedOn = (s: EntryStream) => s.markers('dropped').reduce((sum, m) => sum + m.count, 0);
    await stalled.until((s) => s.entries.length + droppedOn(s) >= paths.length);
    const markers = stalled.markers('dropped');
    assert.ok(markers.length > 0, 'the drops are marked on the stream');
    assert.equal(droppedOn(stalled), slow.dropped, 'the markers add up to the drops counted');
    assert.equal(markers.at(-1).total, slow.dropped);
    assert.equal(stalled.entries.length + slow.dropped, paths.length, 'every entry either arrived or was counted as dropped');
    const arrived = stalled.entries.map((e) => e.request.path);
    assert.equal(new Set(arrived).size, arrived.length, 'none twice');
    assert.ok(arrived.every((p) => paths.includes(p)), 'none other');
    stalled.close();
  });

  test('GET /packets: the packets of the reported calls, whole: kubectl tap read and tshark find each call once in them', async () => {
    const reading = await api.packets('s1');
    assert.equal(reading.status, 200);
    const before = main.entries.length;
    const paths = range(60).map((i) => `/pkt/${i}`);
    const http = await client.ask({ op: 'http', target: `${pod('b').ip}:8080`, paths, bodySize: 48 * 1024 });
    assert.equal(http.ok, paths.length);
    await main.until((s) => s.entries.length >= before + paths.length, 60_000);
    await settle();
    const reported = main.entries.slice(before);
    assertOncePerKey(reported, (e) => e.request.path, paths);
    const stream = (await api.stats()).packetStreams.find((p: any) => p.session === 's1');
    assert.equal(stream.dropped, 0);
    assert.ok(stream.flowsKept > 0, JSON.stringify(stream));
    await reading.until((s) => s.entries.length >= stream.emitted);
    reading.close();

    // Only packets of the flows of reported calls, and all of them: written as pcapng, `kubectl
    // tap read` finds in them each call once (so each connection is there from its SYN), and tshark reads them.
    const flows = new Set(reported.map(entryFlowKey));
    const packets = reading.entries;
    assert.ok(packets.every((p) => flows.has(p.flow)), 'no packet of a flow the session was not reported');
    assert.deepEqual(new Set(packets.map((p) => p.flow)), flows, 'packets of every reported flow');
    const work = mkdtempSync(join(tmpdir(), 'tap-packets-'));
    try {
      const file = join(work, 'node.pcapng');
      const writer = new PcapngWriter(file, 'test');
      for (const p of packets) writer.writePacket(writer.interfaceFor(NODE, p.linkType), p.ts, Buffer.from(p.data, 'base64'), p.length);
      writer.close();
      const read = spawnSync(cliPath, ['read', file, '-q'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.equal(read.status, 0, read.stderr);
      const fromFile = read.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assertOncePerKey(fromFile, (e) => e.request.path, paths);
      const shark = spawnSync('tshark', ['-r', file, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.equal(shark.status, 0, shark.stderr);
      assert.deepEqual(shark.stdout.trim().split('\n').map((uri) => uri.replace(/\?.*/, '')).sort(), [...paths].sort(), 'tshark finds the same requests');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('GET /packets that stops reading: bounded, its drops counted and marked, charged to the budget', async () => {
    const stalled = await api.packets('s1');
    assert.equal(stalled.status, 200);
    stalled.res.pause();
    const before = main.entries.length;
    // ~29 MB of packets (39 MB as base64 lines), more than the stalled stream's queue and socket buffers hold.
    const paths = range(600).map((i) => `/stall/${i}`);
    const http = await client.ask({ op: 'http', target: `${pod('b').ip}:8080`, paths, bodySize: 48 * 1024, delayMs: 4 });
    assert.equal(http.ok, paths.length);
    await main.until((s) => s.entries.length >= before + paths.length, 60_000);
    await settle();
    assertOncePerKey(main.entries.slice(before), (e) => e.request.path, paths);
    const stats = await api.stats();
    const slow = stats.packetStreams.find((p: any) => p.session === 's1');
    assert.ok(slow.dropped > 0, `the stalled packet stream dropped packets: ${JSON.stringify(slow)}`);
    assert.ok(slow.maxQueuedBytes <= slow.queueLimitBytes, 'its queue never passed its bound');
    assert.ok(stats.memory.budget.engine.byKind['packets.held'] <= stats.memory.budget.engine.heldLimit, 'held packets are charged to the engine budget');

    // Reading again: what was queued arrives, then the markers. Every packet offered to it was
    // either written (emitted) or counted as dropped, and the markers say how many.
    stalled.res.resume();
    const droppedOn = (s: EntryStream) => s.markers('dropped').reduce((sum, m) => sum + m.count, 0);
    let final: any;
    await waitFor(async () => {
      final = (await api.stats()).packetStreams.find((p: any) => p.session === 's1');
      return final.queued === 0 && stalled.entries.length === final.emitted && droppedOn(stalled) === final.dropped;
    }, 60_000).catch(() => assert.fail(`the stream does not add up: arrived ${stalled.entries.length}, marked ${droppedOn(stalled)}, ${JSON.stringify(final)}`));
    assert.ok(stalled.markers('dropped').length > 0, 'the drops are marked on the stream');
    assert.equal(stalled.markers('dropped').at(-1).total, final.dropped);
    const flows = new Set(main.entries.slice(before).map(entryFlowKey));
    assert.ok(stalled.entries.every((p) => flows.has(p.flow)), 'only packets of the reported calls');
    stalled.close();
  });

  test('SIGTERM: a pending call flushed, streams ended, exit 0', async () => {
    const before = main.entries.length;
    // A request the server answers only after the tapper has gone: pending at SIGTERM.
    const packets = (await api.stats()).capture.packets;
    void client.ask({ op: 'http', target: `${pod('b').ip}:8080`, paths: ['/pending?delay=3000'] }).catch(() => {});
    // The request and its ACK, on both veths (the stats request itself is not captured: lo).
    await waitFor(async () => (await api.stats()).capture.packets >= packets + 4);
    tapper.kill('SIGTERM');
    assert.equal(await tapperExit, 0);
    await main.until((s) => s.ended);
    assert.ok(main.ended, 'the stream ended');
    const flushed = main.entries.slice(before);
    assertValidEntries(flushed);
    const pending = flushed.filter((e) => e.request.path === '/pending');
    assert.equal(pending.length, 1, 'the pending call came out on the way down');
    assert.equal(pending[0].response, null);
  });
});

class WorkloadClient {
  private buffered = '';
  private readonly waiting: ((answer: any) => void)[] = [];

  constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const parts = (this.buffered + d).split('\n');
      this.buffered = parts.pop()!;
      for (const p of parts) if (p !== '') this.waiting.shift()?.(JSON.parse(p));
    });
    child.stderr!.on('data', (d) => process.stderr.write(`workload client: ${d}`));
  }

  ask(cmd: Record<string, unknown>): Promise<any> {
    return new Promise((resolve, reject) => {
      this.waiting.push((answer) => (answer.error ? reject(new Error(answer.error)) : resolve(answer)));
      this.child.stdin!.write(JSON.stringify(cmd) + '\n');
    });
  }

  close(): void {
    this.child.stdin!.end();
  }
}


function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function assertOncePerKey(entries: any[], key: (e: any) => string, expected: string[]): void {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
  const wrong = expected.filter((k) => counts.get(k) !== 1).map((k) => `${k}: ${counts.get(k) ?? 0}`);
  assert.deepEqual(wrong, [], 'every call exactly once');
  const unexpected = [...counts.keys()].filter((k) => !expected.includes(k));
  assert.deepEqual(unexpected, [], 'no other entries');
}

function gapCounters(engine: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(engine).filter(([k]) => /gap|missing|incomplete|dropped/i.test(k) && !k.startsWith('node.')));
}
