// The tapper image run for real by the simulated kubelet (podman): a DaemonSet like the
// stack's (hostNetwork, every capability dropped but NET_RAW, read-only root, the session
// Secret and the host's /proc as volumes) on a node with target pods making HTTP, Redis and
// DNS calls. The container's daemon gives the same entries as the same daemon run as a plain
// process in the node's namespace, over the same window of the same traffic. A tapper
// without NET_RAW fails with one clear line in its log and the pod shows it; the read-only
// root holds; a memory limit is enforced; the containers go with their pods and with the
// cluster, also after a crash.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { down, up, type UpResult } from '../cluster/cluster.js';
import { hasKubectl, kubectl, waitFor } from '../cluster/kubectl.js';
import { nodeIp } from '../cluster/net/plumbing.js';
import { names, repoRoot } from '../cluster/paths.js';
import { readState } from '../cluster/state.js';
import { assertValidEntries } from '../helpers/schema.js';
import { CHECKOUT_IMAGE, IMAGE, imageTestsSkip, podman } from './podman.js';
import { Tapper } from './tapper-http.js';
import { tapperPodSpec } from './tapper-pod.js';

const skip = imageTestsSkip() || (!hasKubectl() && 'needs kubectl on PATH');
if (skip) process.stderr.write(`SKIPPING test/image/tapper-container.test.ts: ${skip}\n`);

const dir = join(repoRoot, '.cluster', 'tests', 'image-test');
const NODE = 'tap-node-1';
const CONTAINER_PORT = 8449;
const PROCESS_PORT = 8450;
const token = randomBytes(24).toString('hex');

const labels = { app: 'tapper' };

/** Servers and a client that opens a new connection per call, so every call is seen whole. */
const workload = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'work' } },
  {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'work', labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: 'debian', command: ['python3', '-m', 'http.server', '8080'], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'work' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
  {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cache', namespace: 'work', labels: { app: 'cache' } },
    spec: { containers: [{ name: 'redis', image: 'redis', readinessProbe: { tcpSocket: { port: 6379 }, periodSeconds: 1 } }] },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cache', namespace: 'work' }, spec: { selector: { app: 'cache' }, ports: [{ port: 6379 }] } },
  {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: 'work', labels: { app: 'client' } },
    spec: {
      containers: [{
        name: 'client', image: 'debian',
        command: ['sh', '-c', 'while :; do curl -s -o /dev/null http://web.work.svc.cluster.local/ && echo http; redis-cli -h cache.work.svc.cluster.local SET k v >/dev/null && echo redis; sleep 0.2; done'],
      }],
    },
  },
];

const tapperStack = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tap' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'session', namespace: 'tap' }, stringData: { token } },
  {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'tapper', namespace: 'tap' },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: tapperPodSpec(CONTAINER_PORT, ['NET_RAW']) } },
  },
];

/** The middle of the widest gap between calls within 200 ms of `near` (ms since the epoch). */
function quietMoment(times: number[], near: number): number {
  const sorted = times.filter((t) => Math.abs(t - near) < 1000).sort((a, b) => a - b);
  let best = { width: -1, at: near };
  for (let i = 1; i < sorted.length; i++) {
    const at = (sorted[i - 1]! + sorted[i]!) / 2;
    const width = sorted[i]! - sorted[i - 1]!;
    if (Math.abs(at - near) <= 200 && width > best.width) best = { width, at };
  }
  return best.at;
}

describe('the tapper image under the simulated kubelet', { skip, concurrency: false, timeout: 240_000 }, () => {
  let cluster: UpResult;
  let processTapper: ChildProcess;
  let processLog = '';
  const k = (args: string[], input?: string) => kubectl(cluster.kubeconfig, args, { input });
  const json = async (args: string[]) => {
    const r = await k([...args, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const apply = async (objects: unknown[]) => {
    const r = await k(['apply', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
    assert.equal(r.code, 0, r.stderr);
  };
  const tapperPod = async () => (await json(['get', 'pods', '-n', 'tap', '-l', 'app=tapper'])).items[0];
  const containerOf = (pod: any) => String(pod.status.containerStatuses[0].containerID).replace(/^podman:\/\//, '');

  before(async () => {
    mkdirSync(dir, { recursive: true });
    cluster = await up({ dir, nodes: 1 });
    await apply(workload);
    await apply(tapperStack);
    const tokenFile = join(dir, 'process-token');
    writeFileSync(tokenFile, token);
    // the same bundle as a plain process in the node's namespace: the reference
    processTapper = spawn('ip', ['netns', 'exec', names(dir).nodeNetns(1), process.execPath, join(repoRoot, 'dist', 'tapper.js'),
      '--listen', `0.0.0.0:${PROCESS_PORT}`, '--token-file', tokenFile, '--node-name', NODE], { stdio: ['ignore', 'ignore', 'pipe'] });
    processTapper.stderr!.on('data', (d) => (processLog += d));
    await waitFor('pods ready', async () => {
      const pods = [...(await json(['get', 'pods', '-n', 'work'])).items, ...(await json(['get', 'pods', '-n', 'tap'])).items];
      const ready = pods.filter((p: any) => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      return pods.length === 4 && ready.length === 4 ? true : undefined;
    }, 60_000);
    await waitFor('the process tapper serving', async () => (/serving on/.test(processLog) ? true : undefined), 20_000, 200);
  }, { timeout: 120_000 });

  after(async () => {
    processTapper?.kill('SIGKILL');
    if (cluster) await down({ dir });
  }, { timeout: 60_000 });

  test('the DaemonSet\'s pod runs the image as a container: caps, user, read-only root, volumes, node netns', async () => {
    const pod = await tapperPod();
    assert.match(pod.status.containerStatuses[0].containerID, /^podman:\/\//);
    const r = podman(['inspect', '--format', '{{json .}}', containerOf(pod)]);
    assert.equal(r.code, 0, r.stderr);
    const [c] = JSON.parse(r.stdout);
    assert.equal(c.ImageName.replace(/^localhost\//, ''), CHECKOUT_IMAGE, 'the image this checkout built for the tag the pod names');
    assert.equal(c.HostConfig.ReadonlyRootfs, true);
    assert.equal(c.Config.User, '0');
    assert.deepEqual(c.EffectiveCaps, ['CAP_NET_RAW']);
    assert.equal(c.HostConfig.NetworkMode, `ns:/run/netns/${names(dir).nodeNetns(1)}`);
    const mounts = Object.fromEntries(c.Mounts.map((m: any) => [m.Destination, m]));
    assert.equal(mounts['/host/proc'].Source, '/proc');
    assert.equal(mounts['/host/proc'].RW, false);
    assert.equal(mounts['/var/run/kubectl-tap'].RW, false);
    assert.equal(mounts['/tmp'].RW, true);
    // what the kernel says of the daemon's process: exactly CAP_NET_RAW (bit 13) effective
    const status = podman(['exec', containerOf(pod), '/usr/local/bin/node', '-p', "require('fs').readFileSync('/proc/1/status','utf8').match(/CapEff:\\s*(\\w+)/)[1]"]);
    assert.equal(status.stdout.trim(), (1 << 13).toString(16).padStart(16, '0'), status.stderr);
  });

  test('nothing outside its volumes is writable, and the daemon works with that', async () => {
    const pod = await tapperPod();
    const write = (path: string) => podman(['exec', containerOf(pod), '/usr/local/bin/node', '-e', `require('fs').writeFileSync(${JSON.stringify(path)}, 'x')`]);
    assert.match(write('/app/x').stderr, /EROFS/);
    assert.match(write('/etc/x').stderr, /EROFS/);
    assert.equal(write('/tmp/x').code, 0, 'the emptyDir is writable');
    const logs = await k(['logs', '-n', 'tap', pod.metadata.name]);
    assert.match(logs.stdout, /^tapper: serving on 0\.0\.0\.0:8449 for node tap-node-1, capturing on any$/m);
    assert.equal(pod.status.containerStatuses[0].restartCount, 0);
  });

  test('the container gives the same entries as the process, over the same traffic', { timeout: 60_000 }, async () => {
    const pods = Object.fromEntries((await json(['get', 'pods', '-n', 'work'])).items.map((p: any) => [p.metadata.name, p]));
    const services = (await json(['get', 'services', '-n', 'work'])).items;
    const targets = {
      node: NODE, ttl: 120,
      pods: Object.values(pods).map((p: any) => ({ ip: p.status.podIP, uid: p.metadata.uid, namespace: 'work', name: p.metadata.name, node: NODE, hostNetwork: false, sidecar: null })),
      services: services.map((s: any) => ({
        namespace: 'work', name: s.metadata.name, clusterIPs: [s.spec.clusterIP],
        ports: s.spec.ports.map((p: any) => ({ port: p.port, targetPort: p.targetPort, protocol: 'TCP' })),
        endpoints: [pods[s.metadata.name === 'web' ? 'web' : 'cache'].status.podIP],
      })),
    };
    const relay = names(dir).relaySocket;
    const tappers = [new Tapper(relay, nodeIp(1), CONTAINER_PORT, token), new Tapper(relay, nodeIp(1), PROCESS_PORT, token)];
    const drops = async () => Promise.all(tappers.map(async (t) => JSON.parse((await t.request('GET', '/stats')).body).capture.droppedKernel as number));
    const streams = await Promise.all(tappers.map((t) => t.entries('s1')));
    for (const t of tappers) assert.equal((await t.request('PUT', '/targets?session=s1', targets)).status, 204);
    await new Promise((r) => setTimeout(r, 1500));
    // Windows of 5 s, opening after both follow the targets. A window in which either daemon lost
    // packets in the kernel (a busy machine) cannot compare; the next one is taken, three at most.
    let compared: { fromContainer: string[]; fromProcess: string[]; seconds: number } | undefined;
    const lost: number[][] = [];
    for (let attempt = 0; attempt < 3 && !compared; attempt++) {
      const before = await drops();
      const from = Date.now();
      await new Promise((r) => setTimeout(r, 5000));
      const to = Date.now();
      await new Promise((r) => setTimeout(r, 2000)); // the window's last calls come out
      const delta = (await drops()).map((d, i) => d - before[i]!);
      if (delta.some((d) => d > 0)) {
        lost.push(delta);
        continue;
      }
      // Each libpcap handle stamps packets itself (a microsecond or so apart), and ids carry a
      // random prefix per daemon: the rest of every entry must be the same. The window's edges are
      // moved into a quiet moment of the traffic, so no call sits on an edge in one set only.
      const at = (l: any) => Date.parse(l.timestamp) + Number(l.timestamp.slice(23, 26) || 0) / 1000;
      const all = streams.flatMap((s) => s.lines.filter((l) => !l.marker).map(at));
      const start = quietMoment(all, from);
      const end = quietMoment(all, to);
      const inWindow = (lines: any[]) => lines
        .filter((l) => !l.marker && at(l) >= start && at(l) < end)
        .map(({ id: _id, timestamp: _t, elapsedMs: _e, ...rest }) => JSON.stringify(rest)).sort();
      compared = { fromContainer: inWindow(streams[0]!.lines), fromProcess: inWindow(streams[1]!.lines), seconds: (end - start) / 1000 };
    }
    for (const s of streams) s.close();
    assert.ok(compared, `every window lost packets in the kernel (container, process): ${JSON.stringify(lost)}`);
    const { fromContainer, fromProcess } = compared;
    const entries = streams[0]!.lines.filter((l) => !l.marker);
    assertValidEntries(entries);
    const count = (protocol: string) => fromContainer.filter((e) => JSON.parse(e).protocol === protocol).length;
    process.stderr.write(`container tapper: ${fromContainer.length} entries in ${compared.seconds.toFixed(1)} s (http ${count('http')}, redis ${count('redis')}, dns ${count('dns')})${lost.length ? `, after ${lost.length} window(s) with kernel drops (container, process): ${JSON.stringify(lost)}` : ''}\n`);
    assert.ok(count('http') >= 5 && count('redis') >= 5 && count('dns') >= 5, 'calls of every kind were made and seen');
    assert.ok(entries.every((e) => e.node === NODE));
    assert.ok(entries.some((e) => e.protocol === 'http' && e.dst?.ip === pods.web.status.podIP && e.capture?.dialed), 'the Service dialled is carried');
    const onlyIn = (a: string[], b: string[]) => {
      const left = [...b];
      return a.filter((x) => {
        const i = left.indexOf(x);
        if (i >= 0) left.splice(i, 1);
        return i < 0;
      });
    };
    assert.deepEqual({ onlyContainer: onlyIn(fromContainer, fromProcess), onlyProcess: onlyIn(fromProcess, fromContainer) }, { onlyContainer: [], onlyProcess: [] });
  });

  test('without NET_RAW the tapper fails with one clear line, and the pod shows it', { timeout: 60_000 }, async () => {
    await apply([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'no-raw', namespace: 'tap' }, spec: { ...tapperPodSpec(8451, ['NET_ADMIN']), nodeName: NODE } }]);
    const pod = await waitFor('the container to fail, restart and back off', async () => {
      const p = await json(['get', 'pod', '-n', 'tap', 'no-raw']);
      return p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
    }, 40_000, 200);
    const status = pod.status.containerStatuses[0];
    assert.match(status.containerID ?? status.lastState.terminated.containerID, /^podman:\/\//);
    assert.equal(status.lastState.terminated.exitCode, 1);
    assert.equal(status.ready, false);
    const logs = (await k(['logs', '-n', 'tap', 'no-raw'])).stdout.trim().split('\n');
    // one line per run of the container, each the same clear one
    assert.ok(logs.length >= 1);
    for (const line of logs) assert.equal(line, 'tapper: cannot capture on any: socket: Operation not permitted');
    const described = (await k(['describe', 'pod', '-n', 'tap', 'no-raw'])).stdout;
    // (it may be running its next attempt by now: the state line is whichever; the last one stays)
    assert.match(described, /Restart Count:\s+[1-9]/);
    assert.match(described, /Last State:\s+Terminated\s+Reason:\s+Error\s+Exit Code:\s+1/);
    assert.match(described, /Back-off restarting failed container tapper/);
  });

  test('a container over its memory limit is OOMKilled, as the pod says', { timeout: 40_000 }, async () => {
    await apply([{
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'greedy', namespace: 'tap' },
      spec: {
        nodeName: NODE, restartPolicy: 'Never',
        containers: [{
          name: 'greedy', image: IMAGE, resources: { limits: { memory: '64Mi' } },
          command: ['/usr/local/bin/node', '-e', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))'],
          securityContext: { capabilities: { drop: ['ALL'] } },
        }],
      },
    }]);
    const state = await waitFor('the container to end', async () => (await json(['get', 'pod', '-n', 'tap', 'greedy'])).status.containerStatuses?.[0]?.state?.terminated, 30_000, 200);
    assert.equal(state.reason, 'OOMKilled');
    assert.equal(state.exitCode, 137);
    assert.equal((await k(['delete', 'pod', '-n', 'tap', 'greedy', '--wait=true'])).code, 0);
  });

  test('deleting a pod removes its container; down removes the rest, even after the cluster crashed', { timeout: 60_000 }, async () => {
    const byLabel = () => podman(['ps', '-a', '-q', '--filter', `label=io.kubectl-tap.cluster=${names(dir).netnsPrefix}`]).stdout.trim().split('\n').filter(Boolean);
    assert.equal((await k(['delete', 'pod', '-n', 'tap', 'no-raw', '--wait=true'])).code, 0);
    const before = await tapperPod();
    const id = containerOf(before);
    assert.equal(podman(['container', 'exists', id]).code, 0);
    assert.equal((await k(['delete', 'pod', '-n', 'tap', before.metadata.name, '--wait=true'])).code, 0);
    assert.notEqual(podman(['container', 'exists', id]).code, 0, 'the deleted pod\'s container is gone');
    // the DaemonSet makes a new pod, with a container of its own
    const replaced = await waitFor('a new tapper pod running', async () => {
      const p = await tapperPod();
      return p && p.metadata.name !== before.metadata.name && p.status.containerStatuses?.[0]?.ready ? p : undefined;
    }, 30_000);
    const newId = containerOf(replaced);
    assert.deepEqual(byLabel(), [podman(['inspect', '--format', '{{.Id}}', newId]).stdout.trim().slice(0, 12)]);
    // a crash: the cluster's daemon dies at once, its containers keep running without it
    process.kill(readState(names(dir).statePath)!.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(podman(['container', 'exists', newId]).code, 0);
    await down({ dir });
    assert.deepEqual(byLabel(), []);
    cluster = undefined as unknown as UpResult; // `after` has nothing left to remove
  });
});
