// `make bench`, scale part (issue 15): how far one `kubectl tap` goes.
//
// Fan-in: a simulated cluster of SCALE_NODES nodes, a pre-installed stack (`kubectl tap
// manifests`) whose tappers play the HTTP/1 bench capture as fast as the streams take it (the
// daemon's file source, --pace fast: a tapper never outruns its readers, so the rate measured
// is what the path downstream takes), on N = 1, 5, 20 nodes. Per N, two runs on fresh
// tappers: "direct", this process reading every tapper's /entries itself (through the
// cluster's relay, no API server) and only counting lines, which is what the tappers and the
// network give; and "proxied", the real `kubectl tap -A --use-installed` reading them through
// the stand-in API server's pods proxy, resolving names with its informers and writing NDJSON
// to a pipe this process counts. Per run: entries/s, the CLI's CPU (CPU-seconds per 1,000
// entries and % of one core) and peak RSS, the API server process's and the relay's CPU, the
// tappers' CPU summed. Neither pushes a filter down (a session without --filter sends none);
// a last run at the largest N, "proxied+f", pushes one down that every entry passes, to show
// what a JSONata filter costs the tappers.
//
// The tappers run as processes (the kubelet's local command for an image not in podman's
// storage: the same dist/tapper.js the image runs, with the DaemonSet's args), not as podman
// containers: 20 containers cost memory and start-up the data path never sees (the tappers
// are hostNetwork, their HTTPS, the proxy and the CLI are the same either way).
//
// API load: then the same cluster with SCALE_PODS pods (a Deployment) and a full session
// (install, heartbeat, reaper, informers, targets) for SCALE_API_SECONDS; the stand-in's
// audit log (one event per request) counted by user agent, verb and resource, per minute, in
// steady state and with pods replaced meanwhile.
//
// Knobs: SCALE_NODES=1,5,20  SCALE_SECONDS=10 (window per run)  SCALE_PODS=500
// SCALE_API_SECONDS=60  SCALE_PARTS=fanin,api. Nothing is asserted: figures only. Root.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { BENCH_CASES } from './cases.js';
import { captureFile, makeCapture } from './captures.js';
import { down, up } from '../test/cluster/cluster.js';
import { kubectl, waitFor } from '../test/cluster/kubectl.js';
import { dial } from '../test/cluster/net/dial.js';
import { names, repoRoot } from '../test/cluster/paths.js';
import { readState } from '../test/cluster/state.js';

const NODES = (process.env.SCALE_NODES ?? '1,5,20').split(',').map(Number);
const SECONDS = Number(process.env.SCALE_SECONDS ?? 10);
const WARMUP_MS = 2000;
const PODS = Number(process.env.SCALE_PODS ?? 500);
const API_SECONDS = Number(process.env.SCALE_API_SECONDS ?? 60);
const PARTS = new Set((process.env.SCALE_PARTS ?? 'fanin,api').split(','));
const TAP_NS = 'scale-tap';
const PORT = 8449;
// A tag podman does not hold: the kubelet runs the tapper as a local process (see the top).
const PROCESS_IMAGE = 'kubectl-tap/tapper:scale-bench-process';
const CLI = join(repoRoot, 'dist', 'kubectl-tap');
/** A filter every entry of the capture passes (they are all HTTP). */
const PASS_ALL = 'protocol = "http"';

if (process.getuid?.() !== 0) {
  console.error('bench scale: SKIPPED: needs root (network namespaces)');
  process.exit(0);
}
const http1 = BENCH_CASES.find((c) => c.name === 'http1')!;
const capture = resolve(captureFile(http1));
if (!makeCapture(http1, capture)) process.exit(1);

const dir = join(repoRoot, '.cluster', 'bench-scale');
const maxNodes = Math.max(...NODES);
const cluster = await up({ dir, nodes: maxNodes, shop: false, timeoutMs: 180_000 });
const n = names(dir);
const k = (args: string[], input?: string) => kubectl(cluster.kubeconfig, args, { input, timeoutMs: 120_000 });
const json = async (args: string[]) => JSON.parse((await k([...args, '-o', 'json'])).stdout);
const apply = async (text: string) => {
  const r = await k(['apply', '-f', '-'], text);
  if (r.code !== 0) throw new Error(r.stderr);
};

/** User + system CPU seconds of a process (0 once it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function netnsPids(netns: string, cmdline: RegExp): number[] {
  const r = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).filter((pid) => {
    try {
      return cmdline.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      return false;
    }
  });
}

const apiServerPid = readState(n.statePath)!.pid;
const relayPid = netnsPids(n.fabricNetns, /relay/)[0];
const proxyCpu = () => ({ api: cpuSeconds(apiServerPid), relay: relayPid ? cpuSeconds(relayPid) : 0 });

interface TapperPod { name: string; uid: string; ip: string; node: string }

async function tapperPods(): Promise<TapperPod[]> {
  const items = (await json(['get', 'pods', '-n', TAP_NS])).items as any[];
  return items
    .filter((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => ({ name: p.metadata.name, uid: p.metadata.uid, ip: p.status.podIP, node: p.spec.nodeName }));
}

/** Fresh tappers on exactly the first `count` nodes: each plays its capture from the start. */
async function freshTappers(count: number): Promise<TapperPod[]> {
  for (let i = 1; i <= maxNodes; i++) await k(['label', 'node', `tap-node-${i}`, `tap-scale=${i <= count ? 'on' : 'off'}`, '--overwrite']);
  const old = new Set((await tapperPods()).map((p) => p.uid));
  await k(['delete', 'pods', '-n', TAP_NS, '--all', '--wait=true', '--timeout=60s']);
  return waitFor(`${count} fresh tappers`, async () => {
    const pods = await tapperPods();
    const all = (await json(['get', 'pods', '-n', TAP_NS])).items.length;
    return pods.length === count && all === count && pods.every((p) => !old.has(p.uid)) ? pods : undefined;
  }, 120_000, 500);
}

/** The tappers' host PIDs (their nodes' network namespaces hold them: hostNetwork). */
function tapperPids(pods: TapperPod[]): number[] {
  return pods.flatMap((p) => netnsPids(n.nodeNetns(Number(p.node.replace('tap-node-', ''))), /tapper\.js/));
}

interface Sample { lines: number; at: number; cli: number; api: number; relay: number; tappers: number; self: number }

interface RunFigures {
  entriesPerSecond: number;
  cliCpuPerK: number | null;
  cliCorePct: number | null;
  cliPeakRssMb: number | null;
  apiCorePct: number;
  relayCorePct: number;
  tappersCorePct: number;
  tappersCpuPerK: number;
  readerCorePct: number;
  load: number;
  note: string;
}

/**
 * Counts newlines as they arrive (no parsing: the counting must cost next to nothing) and
 * measures a window after a warm-up; `cliPid` is sampled for RSS meanwhile.
 */
async function measure(lines: () => number, streaming: () => boolean, pids: { cli?: number; tappers: number[] }): Promise<{ from: Sample; to: Sample; maxRssMb: number }> {
  // Every tapper streaming (each makes its certificate and loads its engine first), then a warm-up.
  await waitFor('every tapper streaming', async () => (lines() > 0 && streaming() ? true : undefined), 120_000, 50);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const sample = (): Sample => {
    const p = proxyCpu();
    const self = process.cpuUsage();
    return {
      lines: lines(), at: performance.now(), cli: pids.cli ? cpuSeconds(pids.cli) : 0, api: p.api, relay: p.relay,
      tappers: pids.tappers.reduce((s, pid) => s + cpuSeconds(pid), 0), self: (self.user + self.system) / 1e6,
    };
  };
  const from = sample();
  let maxRssMb = 0;
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    if (pids.cli) maxRssMb = Math.max(maxRssMb, rssMb(pids.cli, 'VmRSS'));
    await new Promise((r) => setTimeout(r, 250));
  }
  return { from, to: sample(), maxRssMb };
}

function figures(m: { from: Sample; to: Sample }, load: number, withCli: boolean, peakRss: number | null, note: string): RunFigures {
  const wall = (m.to.at - m.from.at) / 1000;
  const entries = m.to.lines - m.from.lines;
  const pct = (a: number, b: number) => ((b - a) / wall) * 100;
  return {
    entriesPerSecond: entries / wall,
    cliCpuPerK: withCli && entries > 0 ? ((m.to.cli - m.from.cli) / entries) * 1000 : null,
    cliCorePct: withCli ? pct(m.from.cli, m.to.cli) : null,
    cliPeakRssMb: peakRss,
    apiCorePct: pct(m.from.api, m.to.api),
    relayCorePct: pct(m.from.relay, m.to.relay),
    tappersCorePct: pct(m.from.tappers, m.to.tappers),
    tappersCpuPerK: entries > 0 ? ((m.to.tappers - m.from.tappers) / entries) * 1000 : 0,
    readerCorePct: withCli ? 0 : pct(m.from.self, m.to.self),
    load,
    note,
  };
}

/** Every tapper's /entries read here, straight from the node (the relay, no API server). */
async function directRun(pods: TapperPod[], token: string): Promise<RunFigures> {
  let count = 0;
  let started = 0;
  const responses: IncomingMessage[] = [];
  await Promise.all(pods.map((p, i) => new Promise<void>((resolveOpen, reject) => {
    const req = https.request({
      method: 'GET', path: `/entries?session=scale-direct-${i}`, headers: { 'X-Tap-Token': token },
      createConnection: () => tls.connect({ socket: dial(n.relaySocket, p.ip, PORT), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }),
    } as https.RequestOptions, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${p.name} /entries: ${res.statusCode}`));
      responses.push(res);
      res.once('data', () => (started += 1));
      res.on('data', (chunk: Buffer) => {
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) count += 1;
      });
      res.on('error', () => undefined);
      resolveOpen();
    });
    req.on('error', reject);
    req.end();
  })));
  const load = loadavg()[0]!;
  const m = await measure(() => count, () => started === pods.length, { tappers: tapperPids(pods) });
  for (const r of responses) r.destroy();
  return figures(m, load, false, null, '');
}

/** The real CLI through the API server's pods proxy, its stdout counted here. */
async function proxiedRun(pods: TapperPod[], extra: string[] = []): Promise<RunFigures> {
  const errFile = join(dir, `cli-${pods.length}${extra.join('')}.stderr`);
  const cli = spawn(CLI, ['-A', '--use-installed', '--tap-namespace', TAP_NS, '--kubeconfig', cluster.kubeconfig, '-o', 'ndjson', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  cli.stderr!.pipe(createWriteStream(errFile));
  let stderr = '';
  cli.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let count = 0;
  cli.stdout!.on('data', (chunk: Buffer) => {
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) count += 1;
  });
  const load = loadavg()[0]!;
  const m = await measure(() => count, () => (stderr.match(/\+ node /g) ?? []).length === pods.length, { cli: cli.pid!, tappers: tapperPids(pods) });
  const peak = rssMb(cli.pid!, 'VmHWM');
  await stopCli(cli);
  const dropped = /(\d+) entries dropped by tappers/.exec(stderr)?.[1];
  const note = `${dropped ?? '?'} dropped by tappers${/gap\(s\)/.test(stderr) ? '; gaps' : ''}`;
  return figures(m, load, true, Math.max(peak, m.maxRssMb), note);
}

async function stopCli(cli: ChildProcess): Promise<number | null> {
  if (cli.exitCode !== null) return cli.exitCode;
  // 'close': exited and its stdio read to the end (the end-of-run lines on stderr).
  const exited = new Promise<number | null>((r) => cli.once('close', (code) => r(code)));
  cli.kill('SIGINT');
  const timer = setTimeout(() => cli.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

async function installFileStack(): Promise<string> {
  const rendered = spawnSync(CLI, ['manifests', '--tap-namespace', TAP_NS, '--node-selector', 'tap-scale=on', '--tapper-image', PROCESS_IMAGE], { encoding: 'utf8' });
  if (rendered.status !== 0) throw new Error(rendered.stderr);
  const docs = yaml.loadAll(rendered.stdout) as any[];
  for (const d of docs) {
    if (d?.kind !== 'DaemonSet') continue;
    const c = d.spec.template.spec.containers[0];
    c.args = [...c.args, '--file', capture, '--pace', 'fast'];
  }
  await apply(docs.map((d) => JSON.stringify(d)).join('\n'));
  const secret = await json(['get', 'secret', '-n', TAP_NS, 'kubectl-tap-session']);
  return Buffer.from(secret.data.token, 'base64').toString('utf8');
}

function fmt(v: number | null, digits = 1): string {
  return v === null ? '-' : v.toFixed(digits);
}

async function fanInPart(): Promise<void> {
  const entriesInFile = Number(spawnSync('bash', ['-c', `"${CLI}" read "${capture}" -q | wc -l`], { encoding: 'utf8' }).stdout.trim());
  const token = await installFileStack();
  console.log(`\n== scale: fan-in, N tappers playing ${capture.replace(repoRoot + '/', '')} (${entriesInFile} HTTP/1 entries each) as fast as read; ${SECONDS} s window after ${WARMUP_MS / 1000} s warm-up`);
  console.log(`   ${cpus().length} cores shared by every process here (tappers, relay, API server, CLI, this reader) and by other work: load average per row`);
  console.log(`   (proxied+f: the same with --filter '${PASS_ALL}', pushed down to the tappers: what a JSONata filter costs them)`);
  console.log('   N  path        entries/s  CLI CPU-s/1k  CLI % core  CLI peak RSS MB  API server % core  relay % core  tappers % core  tappers CPU-s/1k  reader % core  load  notes');
  const rows: { n: number; direct: RunFigures; proxied: RunFigures }[] = [];
  const print = (count: number, path: string, f: RunFigures) => console.log([
    String(count).padStart(4), path.padEnd(9), fmt(f.entriesPerSecond, 0).padStart(11), fmt(f.cliCpuPerK, 3).padStart(13), fmt(f.cliCorePct).padStart(11),
    fmt(f.cliPeakRssMb, 0).padStart(16), fmt(f.apiCorePct).padStart(18), fmt(f.relayCorePct).padStart(13), fmt(f.tappersCorePct).padStart(15),
    fmt(f.tappersCpuPerK, 3).padStart(17), fmt(path === 'direct' ? f.readerCorePct : null).padStart(14), f.load.toFixed(1).padStart(5), ` ${f.note}`,
  ].join(' '));
  for (const count of NODES) {
    const d = await directRun(await freshTappers(count), token);
    print(count, 'direct', d);
    const p = await proxiedRun(await freshTappers(count));
    print(count, 'proxied', p);
    rows.push({ n: count, direct: d, proxied: p });
  }
  print(maxNodes, 'proxied+f', await proxiedRun(await freshTappers(maxNodes), ['--filter', PASS_ALL]));
  await k(['delete', 'namespace', TAP_NS, '--wait=true', '--timeout=60s']);
  const last = rows[rows.length - 1]!;
  const cliCapacity = last.proxied.cliCpuPerK ? 1000 / last.proxied.cliCpuPerK : 0;
  console.log(`\nat N=${last.n}: proxied/direct ${(last.proxied.entriesPerSecond / last.direct.entriesPerSecond).toFixed(2)}; the CLI's own cost ${fmt(last.proxied.cliCpuPerK, 3)} CPU-s per 1,000 entries, i.e. ~${cliCapacity.toFixed(0)} entries/s on a core of its own`);
  console.log('goal: >= 50,000 entries/s into the CLI from 20 tappers; CLI RSS bounded whatever N');
}

interface AuditEvent { stage: string; verb: string; userAgent?: string; user: { username: string }; objectRef: { resource: string; subresource?: string; name?: string }; requestReceivedTimestamp: string }

function auditSince(since: number): AuditEvent[] {
  const file = join(n.logsDir, 'audit.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'RequestReceived' && Date.parse(e.requestReceivedTimestamp) >= since);
}

function perMinute(events: AuditEvent[], seconds: number): { key: string; perMin: number; watches: number }[] {
  const counts = new Map<string, number>();
  for (const e of events) {
    const who = e.userAgent?.startsWith('kubectl-tap/') ? (e.user.username.startsWith('system:serviceaccount:') ? 'stack (reaper)' : 'CLI') : e.userAgent?.split(' ')[0] ?? '?';
    const what = `${e.objectRef.resource}${e.objectRef.subresource ? '/' + e.objectRef.subresource : ''}`;
    const key = `${who.padEnd(16)} ${e.verb.padEnd(7)} ${what}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([key, c]) => ({ key, perMin: (c / seconds) * 60, watches: key.includes(' watch ') ? c : 0 }));
}

async function apiPart(): Promise<void> {
  console.log(`\n== scale: API load, ${maxNodes} nodes, ${PODS} pods (Deployment scale-pods/sleeper), a full session (-n scale-pods, install, heartbeat, reaper), ${API_SECONDS} s per phase`);
  await apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'scale-pods' } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'sleeper', namespace: 'scale-pods' },
      spec: {
        replicas: PODS, selector: { matchLabels: { app: 'sleeper' } },
        template: { metadata: { labels: { app: 'sleeper' } }, spec: { containers: [{ name: 'sleep', image: 'debian', command: ['sleep', '86400'] }] } },
      },
    },
  ].map((o) => JSON.stringify(o)).join('\n'));
  const started = performance.now();
  await waitFor(`${PODS} pods running`, async () => {
    const items = (await json(['get', 'pods', '-n', 'scale-pods'])).items as any[];
    return items.filter((p) => p.status.phase === 'Running' && p.status.podIP).length >= PODS ? true : undefined;
  }, 600_000, 2000);
  console.log(`   (${PODS} pods running after ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const errFile = join(dir, 'cli-api.stderr');
  const cli = spawn(CLI, ['-n', 'scale-pods', '--tap-namespace', 'scale-session', '--tapper-image', PROCESS_IMAGE, '--kubeconfig', cluster.kubeconfig, '-o', 'ndjson'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  cli.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  cli.stderr!.pipe(createWriteStream(errFile));
  const sessionStart = Date.now();
  await waitFor('the session tapping', async () => (/tapping /.test(stderr) ? true : undefined), 180_000, 250);
  // The streams, the first targets and the informers' first watches go out as it starts tapping.
  await new Promise((r) => setTimeout(r, 10_000));
  const startupEvents = auditSince(sessionStart);
  const steadyFrom = Date.now();
  await new Promise((r) => setTimeout(r, API_SECONDS * 1000));
  const steady = auditSince(steadyFrom).filter((e) => Date.parse(e.requestReceivedTimestamp) < steadyFrom + API_SECONDS * 1000);
  // Churn: a tenth of the pods replaced (deleted; the ReplicaSet makes new ones) during the window.
  const churnFrom = Date.now();
  const podNames = ((await json(['get', 'pods', '-n', 'scale-pods'])).items as any[]).map((p) => p.metadata.name).slice(0, Math.ceil(PODS / 10));
  await k(['delete', 'pods', '-n', 'scale-pods', '--wait=false', ...podNames]);
  await new Promise((r) => setTimeout(r, Math.max(0, API_SECONDS * 1000 - (Date.now() - churnFrom))));
  const churn = auditSince(churnFrom).filter((e) => Date.parse(e.requestReceivedTimestamp) < churnFrom + API_SECONDS * 1000);
  const cliPeak = rssMb(cli.pid!, 'VmHWM');
  await stopCli(cli);
  const ours = (e: AuditEvent) => e.userAgent?.startsWith('kubectl-tap/') ?? false;
  console.log(`   start-up (install, tapping, 10 s more: ${((steadyFrom - sessionStart) / 1000).toFixed(0)} s): ${startupEvents.filter(ours).length} requests by kubectl-tap, ${startupEvents.filter((e) => ours(e) && e.verb === 'watch').length} of them watches`);
  for (const [label, events, seconds] of [['steady', steady, API_SECONDS], [`${podNames.length} pods replaced`, churn, (Date.now() - churnFrom) / 1000]] as const) {
    const mine = events.filter(ours);
    console.log(`\n-- ${label}: ${((mine.length / seconds) * 60).toFixed(0)} requests/min by kubectl-tap (CLI and stack), ${mine.filter((e) => e.verb === 'watch').length} watches opened in the window`);
    console.log('   who              verb    resource                     per min');
    for (const row of perMinute(mine, seconds)) console.log(`   ${row.key.padEnd(45)} ${row.perMin.toFixed(1).padStart(7)}`);
  }
  console.log(`\n   CLI peak RSS ${cliPeak.toFixed(0)} MB with ${PODS} pods in its informers`);
  console.log('goal: a constant number of watches (informers); no per-entry or per-pod polling');
}

try {
  if (PARTS.has('fanin')) await fanInPart();
  if (PARTS.has('api')) await apiPart();
} finally {
  await down({ dir });
}
