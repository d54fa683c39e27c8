// Under overload (issue 15): when the CLI cannot keep up, entries are dropped and counted at
// the tapper, the CLI reports them at the end, its memory stays bounded, nothing hangs. On
// the shared simulated cluster: a pre-installed stack (`kubectl tap manifests`) whose tapper
// on one node plays a capture of real wrk traffic at its recorded pace (~27,000 calls/s, as
// a live capture would see them), read by the real `kubectl tap --use-installed` through the
// API server's pods proxy, its stdout read by this test: first stalled, then slowly (the
// slow consumer); then at full speed with --node-max-rate capping the node.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import yaml from 'js-yaml';
import { kubectl, waitFor } from '../cluster/kubectl.js';
import { names, repoRoot } from '../cluster/paths.js';
import { Tapper } from '../image/tapper-http.js';
import { cliPath } from '../helpers/cli.js';
import { skipUnless, tool } from '../helpers/requirements.js';
import { sharedCluster, type SharedCluster } from '../helpers/shared-cluster.js';

type Json = Record<string, any>;
const PACKETS = 400_000; // ~200,000 calls, ~110 MB of entries
/**
 * What the CLI may hold beyond its start: the brake's 1 MiB of output and 2,048 entries, a
 * stream buffer per node, and its heap's slack (semi-spaces of 8 MiB, old space growing 50%).
 */
const HELD_BOUND_KB = 48 * 1024;
const NODE = 'tap-node-1';

// Not under /tmp: the tapper's pod mounts an emptyDir there, over the host's.
mkdirSync(join(repoRoot, '.cluster'), { recursive: true });
const work = mkdtempSync(join(repoRoot, '.cluster', 'overload-capture-'));
const capture = join(work, 'wrk.pcap');
let made: string | undefined;
before(() => {
  if (process.getuid?.() !== 0) return;
  const r = spawnSync('bash', [join(repoRoot, 'bench', 'make-http1-capture.sh'), capture, String(PACKETS)], { encoding: 'utf8', timeout: 180_000 });
  made = r.status === 0 ? undefined : `make-http1-capture.sh failed: ${r.stderr.slice(-400)}`;
});
after(() => rmSync(work, { recursive: true, force: true }));

async function setUp(t: TestContext): Promise<SharedCluster | undefined> {
  if (skipUnless(t, tool('sh', '-c', 'command -v wrk'), tool('tcpdump', '--version'), tool('capinfos', '-h'))) return undefined;
  const cluster = await sharedCluster(t);
  if (!cluster) return undefined;
  if (made) throw new Error(made);
  return cluster;
}

/** A pre-installed stack on one node, its tapper playing the capture at the recorded pace. */
async function installStack(cluster: SharedCluster, ns: string, extra: string[]): Promise<{ token: string; args: string[] }> {
  const rendered = spawnSync(cliPath, ['manifests', '--tap-namespace', ns, '--node-selector', `kubernetes.io/hostname=${NODE}`, ...extra], { encoding: 'utf8' });
  assert.equal(rendered.status, 0, rendered.stderr);
  const docs = yaml.loadAll(rendered.stdout) as Json[];
  const ds = docs.find((d) => d?.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec;
  pod.containers[0].args.push('--file', capture, '--pace', 'recorded');
  pod.containers[0].volumeMounts.push({ name: 'capture', mountPath: work, readOnly: true });
  pod.volumes.push({ name: 'capture', hostPath: { path: work, type: 'Directory' } });
  const applied = await kubectl(cluster.kubeconfig, ['apply', '-f', '-'], { input: docs.map((d) => JSON.stringify(d)).join('\n'), timeoutMs: 60_000 });
  assert.equal(applied.code, 0, applied.stderr);
  await waitFor('the tapper ready', async () => {
    const r = await kubectl(cluster.kubeconfig, ['get', 'pods', '-n', ns, '-o', 'json']);
    const items = JSON.parse(r.stdout).items as Json[];
    return items.length === 1 && items[0]!.status.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
  }, 90_000);
  const secret = JSON.parse((await kubectl(cluster.kubeconfig, ['get', 'secret', '-n', ns, 'kubectl-tap-session', '-o', 'json'])).stdout);
  return { token: Buffer.from(secret.data.token, 'base64').toString('utf8'), args: pod.containers[0].args };
}

async function tapperStats(cluster: SharedCluster, ns: string, token: string): Promise<Json> {
  const r = await kubectl(cluster.kubeconfig, ['get', 'pods', '-n', ns, '-o', 'json']);
  const pod = JSON.parse(r.stdout).items[0];
  const res = await new Tapper(names(cluster.dir).relaySocket, pod.status.podIP, 8449, token).request('GET', '/stats');
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body);
}

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

interface Run { lines: number; bytes: number; code: number | null; stderr: string; baseRssKb: number; peakRssKb: number; session: Json }

/**
 * The CLI with its stdout read by `read(chunkBytes)` every 50 ms after a stall of `stallMs`;
 * ended with SIGINT once the tapper has played its file and all it sent is printed.
 */
async function runCli(cluster: SharedCluster, ns: string, token: string, stallMs: number, chunkBytes: number): Promise<Run> {
  const cli = spawn(cliPath, ['-A', '--use-installed', '--tap-namespace', ns, '--kubeconfig', cluster.kubeconfig, '-o', 'ndjson'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
  const stdout = cli.stdout;
  stdout.pause();
  let lines = 0;
  let bytes = 0;
  let baseRssKb = 0;
  let peakRssKb = 0;
  let firstAt = 0;
  const reader = setInterval(() => {
    if (cli.exitCode === null) peakRssKb = Math.max(peakRssKb, rssKb(cli.pid!, 'VmRSS'));
    if (firstAt > 0 && Date.now() - firstAt < stallMs) return;
    for (let budget = chunkBytes; budget > 0; ) {
      const chunk = stdout.read() as Buffer | null;
      if (chunk === null) break;
      budget -= chunk.length;
      bytes += chunk.length;
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines += 1;
      if (firstAt === 0) {
        firstAt = Date.now();
        baseRssKb = rssKb(cli.pid!, 'VmRSS'); // started, streams open, nothing held yet
      }
    }
  }, 50);
  try {
    // Played, the tapper's queue empty, and every entry it sent printed and read.
    const session = await waitFor('the capture played and printed', async () => {
      if (cli.exitCode !== null) throw new Error(`kubectl tap exited early (${cli.exitCode}): ${stderr}`);
      const stats = await tapperStats(cluster, ns, token);
      const s = Object.values(stats.sessions as Record<string, Json>)[0];
      const queued = (stats.consumers as Json[]).reduce((sum, c) => sum + c.queued, 0);
      return stats.capture.state === 'done' && queued === 0 && s && lines === s.emitted ? s : undefined;
    }, 240_000, 500);
    cli.kill('SIGINT');
    const code = await exited;
    if (cli.exitCode === null) peakRssKb = Math.max(peakRssKb, rssKb(cli.pid!, 'VmHWM'));
    return { lines, bytes, code, stderr, baseRssKb, peakRssKb, session };
  } finally {
    clearInterval(reader);
    if (cli.exitCode === null) cli.kill('SIGKILL');
    await kubectl(cluster.kubeconfig, ['delete', 'namespace', ns, '--wait=false']);
  }
}

function droppedReported(stderr: string): number {
  const m = /(\d+) entries dropped by tappers/.exec(stderr);
  assert.ok(m, `no fan-in line in: ${stderr}`);
  return Number(m[1]);
}

test('a slow consumer of stdout: the tapper drops and counts, the CLI reports the same count and holds a bounded amount', { timeout: 360_000 }, async (t) => {
  const cluster = await setUp(t);
  if (!cluster) return;
  const ns = 'kubectl-tap-overload-slow';
  const { token } = await installStack(cluster, ns, []);
  const run = await runCli(cluster, ns, token, 8000, 256 * 1024);
  assert.equal(run.code, 0, run.stderr);
  const s = run.session;
  const entries = s.emitted + s.dropped + s.filteredOut;
  t.diagnostic(`tapper: ${entries} entries, ${s.emitted} sent, ${s.dropped} dropped (${s.rateCapped} past a rate cap); CLI printed ${run.lines} (${(run.bytes / 1e6).toFixed(1)} MB), RSS ${(run.baseRssKb / 1024).toFixed(0)} MB at its first entry, ${(run.peakRssKb / 1024).toFixed(0)} MB at most`);
  assert.ok(s.dropped > 0, 'the stalled reader made the tapper drop');
  assert.equal(s.rateCapped, 0, 'no rate cap was set');
  assert.equal(run.lines, s.emitted, 'every entry the tapper sent was printed, once');
  assert.equal(droppedReported(run.stderr), s.dropped, 'the CLI reports what the tapper dropped');
  // What the tapper offered the session, at the size of a printed entry, is well over the
  // bound; the CLI stayed within it (without the brake it reads on and holds what stdout does not take).
  const offeredKb = ((s.emitted + s.dropped) * (run.bytes / run.lines)) / 1024;
  assert.ok(offeredKb > 2 * HELD_BOUND_KB, `only ${offeredKb.toFixed(0)} KB offered: too little to tell`);
  assert.ok(run.peakRssKb - run.baseRssKb < HELD_BOUND_KB, `the CLI grew by ${run.peakRssKb - run.baseRssKb} KB while ${offeredKb.toFixed(0)} KB were offered`);
});

test('--node-max-rate: the node sends at most that many entries a second, the rest dropped and counted there, reported by the CLI', { timeout: 360_000 }, async (t) => {
  const cluster = await setUp(t);
  if (!cluster) return;
  const ns = 'kubectl-tap-overload-capped';
  const { token, args } = await installStack(cluster, ns, ['--node-max-rate', '2000']);
  assert.deepEqual(args.slice(args.indexOf('--max-rate'), args.indexOf('--max-rate') + 2), ['--max-rate', '2000'], 'the flag reaches the tappers');
  const run = await runCli(cluster, ns, token, 0, 16 * 1024 * 1024);
  assert.equal(run.code, 0, run.stderr);
  const s = run.session;
  t.diagnostic(`tapper: ${s.emitted} sent, ${s.dropped} dropped, of which ${s.rateCapped} past the cap; CLI printed ${run.lines}`);
  assert.ok(s.rateCapped > 0, 'the recorded pace is far above 2,000 calls/s: the cap dropped some');
  assert.equal(run.lines, s.emitted);
  assert.equal(droppedReported(run.stderr), s.dropped);
});
