// One `kubectl tap` session, start to end: preflight, another stack, install, wait, fan in,
// names, stop, teardown and the end-of-run figures. Each step is a module of its own; this
// file only puts them in order and makes sure every exit path (a signal, a closed stdout,
// an error, a failing tapper) goes through the same stop.
import { randomBytes, randomUUID } from 'node:crypto';
import jsonata from 'jsonata';
import { hostname, userInfo } from 'node:os';
import type { Entry } from '../entry.js';
import { UsageError } from '../errors.js';
import type { SessionOutcome } from '../sink/conditions.js';
import { compileFilter } from '../sink/filter.js';
import { LineOutput } from '../sink/output.js';
import { Stats } from '../stats.js';
import { TapSession, type SessionSpec } from '../sink/session.js';
import { KubeClient } from './client.js';
import { ClusterView } from './cluster-view.js';
import { ApiError, StackError } from './errors.js';
import { FanIn } from './fanin.js';
import { FanInBrake } from './fanin-brake.js';
import { PacketFanIn } from './packet-fanin.js';
import { Heartbeat, STALE_AFTER_MS } from './heartbeat.js';
import { loadConnection, type ConnectionFlags } from './kubeconfig.js';
import { LABELS } from './labels.js';
import { CLI_VERSION, DEFAULT_TAPPER_IMAGE, renderStack, stackYaml, type KubeObject, type StackOptions } from './manifests.js';
import { installAccess, missingAccess, requireAccess, resolverAccess, useInstalledAccess, describeAccess } from './preflight.js';
import { Progress } from './progress.js';
import { compileShorthands, joinClauses, type Shorthands } from './shorthand.js';
import { deleteStack, describeStack, installStack, type InstalledStack } from './stack.js';
import { TapperVersionError, TapperVersions } from './tapper-version.js';
import { TapperWatch, type ReadyTapper } from './tapper-watch.js';
import { compileLabelSelector, compileRegex, parseQuery, selectPods, targetsBody, TARGETS_TTL_SECONDS, type Selection } from './targets.js';

export interface TapRequest {
  connection: ConnectionFlags;
  namespaces: string[];
  allNamespaces: boolean;
  query?: string;
  pods?: string;
  selector?: string;
  excludePods: string[];
  excludeNamespaces: string[];
  nodes: string[];
  stack: Omit<StackOptions, 'token' | 'sessionId' | 'preinstalled'>;
  useInstalled: boolean;
  dryRun: boolean;
  /** Output, filter and CI conditions: the same flags and sink as `kubectl tap read`. */
  session: SessionSpec;
  /** --protocol, --http-status, --from-pod, ...: compiled to JSONata with --filter. */
  shorthands: Shorthands;
  /** cmd's mapping of a session's verdict to an exit code. */
  exitCodeOf: (outcome: SessionOutcome) => number;
  showNoise: boolean;
}

const SECRET_NAME = 'kubectl-tap-session';
/**
 * The wait for the tappers has no flag of its own (the time flags are --duration for the
 * session and --request-timeout for each API request: docs/ci.md). What will not fix itself
 * (an image that cannot be pulled, no node to run on, admission refusing the pods, a crash
 * loop, an OOM kill) ends the wait at once; this bound only catches a stack stuck for no reason
 * a watch can see. A signal (a CI runner's timeout) ends it like the session itself.
 */
const READY_TIMEOUT_MS = 120_000;
const DAEMONSET_NAME = 'kubectl-tap-tapper';
/**
 * Kubelet probes: not what anyone taps for. Dropped in the CLI, not pushed to the nodes as
 * JSONata: evaluated on every entry it doubled a tapper's CPU per entry (bench/scale.ts:
 * 77 against 36 µs) to save the network a few probe entries a second per node.
 */
export function isNoise(entry: Entry): boolean {
  const agent = (entry.request?.headers as Record<string, unknown> | undefined)?.['user-agent'];
  return typeof agent === 'string' && agent.startsWith('kube-probe/');
}

export function buildSelection(req: TapRequest, namespaces: string[] = []): Selection {
  if (req.query && req.pods) throw new UsageError('give the pods either as POD_REGEX or as --pods, not both');
  const parsed = req.pods ? { podRegex: compileRegex(req.pods, '--pods') } : parseQuery(req.query);
  return {
    ...parsed,
    namespaces: new Set(namespaces),
    labels: compileLabelSelector(req.selector),
    excludePods: req.excludePods.map((r) => compileRegex(r, '--exclude-pod')),
    excludeNamespaces: new Set(req.excludeNamespaces),
    nodes: new Set(req.nodes),
    tapNamespace: req.stack.namespace,
  };
}

/** Returns the exit code: 0 for a normal end (a signal or a closed stdout included). */
export async function runTap(req: TapRequest): Promise<number> {
  const progress = new Progress(req.session.quiet);
  // Everything that can be wrong with the flags fails before the cluster is asked anything
  // (the sink compiles --filter, --wait-for and --fail-on).
  const selection = buildSelection(req);
  // What reads resolved names runs in the CLI; the rest is pushed to the tappers.
  const userFilter = req.session.filter;
  const userNeedsNames = userFilter !== undefined && referencesNames(userFilter);
  const clauses = compileShorthands(req.shorthands);
  const localFilter = joinClauses([userNeedsNames ? userFilter : undefined, ...clauses.filter((c) => c.needsNames).map((c) => c.jsonata)]);
  const nodeFilter = joinClauses([userNeedsNames ? undefined : userFilter, ...clauses.filter((c) => !c.needsNames).map((c) => c.jsonata)]);
  if (nodeFilter !== undefined) compileFilter(nodeFilter, new Stats(), '--filter');
  const output = new LineOutput(process.stdout);
  const sink = new TapSession({ ...req.session, filter: localFilter }, output);
  const session = randomUUID();
  const token = randomBytes(32).toString('base64url');
  const objects = renderStack({ ...req.stack, token, sessionId: session, preinstalled: false });
  if (req.dryRun) {
    process.stdout.write(stackYaml(objects));
    progress.notice('dry run: printed what would be created; nothing was created');
    void sink;
    return 0;
  }

  const conn = loadConnection(req.connection);
  const client = new KubeClient(conn.kc, conn.requestTimeoutMs);
  const user = `user "${conn.kc.getCurrentUser()?.name ?? '?'}" (context ${conn.contextName})`;
  const namespaces = req.allNamespaces ? [] : req.namespaces.length > 0 ? [...new Set(req.namespaces)] : [conn.namespace];
  selection.namespaces = new Set(namespaces);
  const tapNs = req.stack.namespace;
  const stop = new Stopper();
  const runtime: Runtime = { client, progress, stop, tapNs, useInstalled: req.useInstalled, timers: [], sink, exitCodeOf: req.exitCodeOf, quiet: req.session.quiet };
  stop.install(progress);
  try {
    await checkNamespaces(client, namespaces);
    const resolverRights = resolverAccess(namespaces.length === 0 ? [''] : namespaces);
    const stackRights = req.useInstalled ? useInstalledAccess(tapNs, SECRET_NAME) : installAccess(tapNs, req.stack.orphanSeconds > 0);
    await requireAccess(client, [...stackRights, ...resolverRights.required], user);
    const optionalMissing = await missingAccess(client, resolverRights.optional);
    for (const a of optionalMissing) progress.warn(`cannot ${describeAccess(a)}: names will be less complete`);
    // Peers outside the tapped namespaces (kube-dns, other teams' Services) get names too when
    // the user may read the whole cluster; otherwise names stay within the tapped namespaces.
    const clusterWide = namespaces.length === 0 || (await missingAccess(client, resolverAccess(['']).required)).length === 0;

    let sessionToken = token;
    if (req.useInstalled) sessionToken = await installedToken(client, tapNs);
    else runtime.installed = await prepareAndInstall(runtime, objects, session);
    if (stop.requested) return await finish(runtime, 0);

    const watch = new TapperWatch(client, tapNs, DAEMONSET_NAME);
    runtime.watch = watch;
    watch.onFatal((line) => stop.fail(new StackError(line)));
    await watch.start();
    await waitForTappers(runtime, watch, READY_TIMEOUT_MS);
    if (stop.requested) return await finish(runtime, stop.exitCode());
    const versions = new TapperVersions(client, { namespace: tapNs, token: sessionToken, expected: CLI_VERSION, remedy: versionRemedy(req) });
    await checkVersions(versions, watch.ready());

    const view = new ClusterView(client, {
      namespaces: clusterWide ? [] : namespaces,
      withNodes: !optionalMissing.some((a) => a.resource === 'nodes'),
      withReplicaSets: !optionalMissing.some((a) => a.resource === 'replicasets'),
    });
    runtime.view = view;
    await view.start();

    let flushScheduled = false;
    const fanIn = new FanIn(client, {
      namespace: tapNs, token: sessionToken, session, filter: nodeFilter,
      onEntry: (raw) => {
        const entry = raw as unknown as Entry & { capture?: { dialed?: { ip: string; port: number } } };
        view.resolver.resolveEntry(entry);
        delete entry.capture;
        if (!req.showNoise && (isNoise(entry) || entry.src.namespace === tapNs || entry.dst.namespace === tapNs)) return;
        const offered = sink.pipeline.offer(entry, fanIn.lossEvents());
        if (offered) offered.catch((err) => stop.fail(err));
        brake.offered(offered);
        if (output.isClosed) stop.request('stdout closed');
        // One flush per turn of the event loop: live entries show at once, in few writes.
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(() => {
            flushScheduled = false;
            output.flush().then(() => output.isClosed && stop.request('stdout closed'), (err) => stop.fail(err));
          });
        }
      },
      onNotice: (line) => progress.notice(line),
      onFatal: (err) => stop.fail(err),
      // Tappers that come later (a new node, a replaced pod) are checked before their first stream.
      verify: (tapper) => versions.check(tapper),
    });
    runtime.fanIn = fanIn;
    const brake = new FanInBrake(output, fanIn, (err) => stop.fail(err));
    // --pcap-out: the tappers' packet streams, opened before the entries' (below) so that
    // the packets of the targets' first calls are there.
    const pcapOut = sink.pcapOut;
    const packetFanIn = pcapOut && new PacketFanIn(client, {
      namespace: tapNs, token: sessionToken, session,
      onPacket: (node, packet) => pcapOut.observeStreamed(node, packet),
      onFatal: (err) => stop.fail(err),
    });
    runtime.packetFanIn = packetFanIn ?? undefined;
    process.stdout.on('error', () => stop.request('stdout closed'));
    sink.onStop(() => stop.request('session'));
    sink.start();

    let lastTargets = '';
    let announced = new Set<string>();
    let waitingNoticed = false;
    const refreshTargets = (renew: boolean) => {
      const pods = selectPods(view, selection);
      const body = targetsBody(view, pods, req.stack.mesh);
      const text = JSON.stringify(body);
      const now = new Set(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
      for (const p of now) if (!announced.has(p)) progress.notice(`+ pod ${p}`);
      for (const p of announced) if (!now.has(p)) progress.notice(`- pod ${p}`);
      announced = now;
      if (pods.length === 0 && !waitingNoticed) {
        waitingNoticed = true;
        progress.warn(`no pod matches ${describeSelection(req, namespaces)} yet; waiting for pods to appear (Ctrl-C to stop)`);
      }
      if (pods.length > 0) waitingNoticed = false;
      if (text === lastTargets && !renew) return;
      lastTargets = text;
      void fanIn.sendTargets(body);
    };
    view.onChange(() => refreshTargets(false));
    watch.onChange(() => {
      packetFanIn?.setTappers(watch.ready());
      fanIn.setTappers(watch.ready());
    });
    packetFanIn?.setTappers(watch.ready());
    fanIn.setTappers(watch.ready());
    refreshTargets(true);
    const renewal = setInterval(() => refreshTargets(true), (TARGETS_TTL_SECONDS * 1000) / 3);
    runtime.timers.push(renewal);
    progress.notice(`tapping ${describeSelection(req, namespaces)} on ${watch.ready().length} node(s); Ctrl-C to stop`);

    await stop.wait;
    return await finish(runtime, stop.exitCode());
  } catch (err) {
    stop.fail(err);
    return await finish(runtime, stop.exitCode());
  }
}

interface Runtime {
  client: KubeClient;
  progress: Progress;
  stop: Stopper;
  tapNs: string;
  useInstalled: boolean;
  installed?: InstalledStack;
  heartbeat?: Heartbeat;
  watch?: TapperWatch;
  view?: ClusterView;
  fanIn?: FanIn;
  packetFanIn?: PacketFanIn;
  timers: NodeJS.Timeout[];
  sink: TapSession;
  exitCodeOf: (outcome: SessionOutcome) => number;
  quiet: boolean;
  finished?: Promise<number>;
}

/** The stop of every path: streams closed, our stack removed and waited for, figures printed. */
async function finish(rt: Runtime, code: number): Promise<number> {
  if (rt.finished) return rt.finished;
  rt.finished = finishOnce(rt, code);
  return rt.finished;
}

async function finishOnce(rt: Runtime, code: number): Promise<number> {
  const { progress, stop } = rt;
  progress.clearStatus();
  if (stop.error) progress.warn(errorLine(stop.error));
  for (const t of rt.timers) clearInterval(t);
  await rt.fanIn?.stop(rt.useInstalled);
  rt.sink.pcapOut?.endOfEntries();
  await rt.packetFanIn?.stop();
  rt.view?.stop();
  rt.watch?.stop();
  await rt.heartbeat?.stop();
  if (rt.installed) {
    const clusterScoped = rt.installed.created.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding');
    progress.notice(`removing the stack in namespace ${rt.tapNs}...`);
    try {
      const result = await deleteStack(rt.client, rt.tapNs, clusterScoped, {
        timeoutMs: 60_000,
        // A second signal: the deletes are asked, their completion is not waited for.
        hurried: () => stop.hurried,
        onWait: (left) => progress.status(`waiting for ${left.join(', ')} to go`),
      });
      progress.clearStatus();
      if (result.remaining.length > 0) {
        progress.warn(`still there: ${result.remaining.join(', ')}; remove it with: kubectl tap clean${rt.tapNs !== 'kubectl-tap' ? ` --tap-namespace ${rt.tapNs}` : ''} (or kubectl delete namespace ${rt.tapNs})`);
        code = code || 1;
      } else progress.notice(`removed ${result.removed.join(', ')}`);
    } catch (err) {
      progress.warn(`could not remove the stack: ${errorLine(err)}; run: kubectl tap clean`);
      code = code || 1;
    }
  }
  // The sink's verdict and summary, also for a session stopped (by a signal) before its
  // tappers streamed: --wait-for never matched then, and --summary-json is still written.
  if (rt.fanIn || stop.error === undefined) {
    if (stop.signalled) rt.sink.stop('signal');
    // The sink's summary (entries per protocol, status, edges, losses; --summary-json), then
    // what only the fan-in knows: nodes, the tappers' drops and the gaps with their lengths.
    const { outcome, report } = await rt.sink.close({ frames: null, stats: { ...rt.fanIn?.stats(), ...rt.packetFanIn?.stats() } }, rt.exitCodeOf, stop.error);
    if (rt.fanIn) progress.notice(fanInLine(rt.fanIn));
    // Under --quiet the summary is not printed: the loss that decided still gets its line.
    if (outcome.verdict === 'lostData' && rt.quiet) progress.warn(`--strict: the session lost data: ${Object.entries(report.losses).map(([k, v]) => `${k}=${v}`).join(' ')}${rt.fanIn ? ` (${fanInLine(rt.fanIn)})` : ''}`);
    if (code === 0) code = rt.exitCodeOf(outcome);
  }
  rt.client.close();
  stop.uninstall();
  return code;
}

function fanInLine(fanIn: FanIn): string {
  const f = fanIn.figures;
  const gaps = [...f.gaps, ...fanIn.openGaps()];
  const gapText = gaps.length === 0 ? 'no gaps' : `${gaps.length} gap(s): ${gaps.map((g) => `${g.seconds.toFixed(1)} s on ${g.node}`).join(', ')}`;
  return `${f.nodes} node(s) streamed, ${f.dropped} entries dropped by tappers, ${gapText}`;
}

/** Fields only the CLI's resolver fills: a filter that reads them cannot run on the nodes. */
const RESOLVED_FIELDS = new Set(['name', 'namespace', 'workload', 'service', 'pod', 'kind']);

/** Whether a JSONata expression reads a resolved name field (src.name, dst.service, ...). */
export function referencesNames(source: string): boolean {
  let ast: unknown;
  try {
    ast = jsonata(source).ast();
  } catch {
    return false; // the sink reports the syntax error
  }
  const seen = new Set<unknown>();
  const walk = (node: unknown): boolean => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return false;
    seen.add(node);
    const n = node as { type?: string; value?: unknown };
    if (n.type === 'name' && typeof n.value === 'string' && RESOLVED_FIELDS.has(n.value)) return true;
    return Object.values(node).some((v) => (Array.isArray(v) ? v.some(walk) : walk(v)));
  };
  return walk(ast);
}

export function errorLine(err: unknown): string {
  if (err instanceof ApiError) return err.code === 0 ? `cannot reach the API server: ${err.message}` : `${err.message} (${err.method} ${err.path}: ${err.code}${err.reason ? ` ${err.reason}` : ''})`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

async function checkNamespaces(client: KubeClient, namespaces: string[]): Promise<void> {
  for (const ns of namespaces) {
    try {
      await client.get(`/api/v1/namespaces/${ns}`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) throw new UsageError(`namespace "${ns}" does not exist`);
      if (err instanceof ApiError && err.code === 403) continue; // may not read namespaces: preflight says what matters
      throw err;
    }
  }
}

/** Another stack in the tap namespace: refuse a live one, remove a stale one, then install ours. */
async function prepareAndInstall(rt: Runtime, objects: KubeObject[], session: string): Promise<InstalledStack> {
  const { client, progress, tapNs } = rt;
  const existing = await client.getIfExists<KubeObject>(`/api/v1/namespaces/${tapNs}`);
  if (existing) {
    const found = describeStack(existing);
    if (existing.metadata.labels?.[LABELS.managedBy] !== 'kubectl-tap') {
      throw new UsageError(`namespace ${tapNs} exists and was not made by kubectl tap; choose another --tap-namespace`);
    }
    if (found.preinstalled) throw new UsageError(`namespace ${tapNs} holds a pre-installed stack: use it with --use-installed`);
    if (!found.terminating && found.heartbeatAgeMs !== undefined && found.heartbeatAgeMs < STALE_AFTER_MS) {
      throw new StackError(`another kubectl tap session${found.owner ? ` (${found.owner})` : ''} is using namespace ${tapNs} (heartbeat ${Math.round(found.heartbeatAgeMs / 1000)} s ago); wait for it to end or use --tap-namespace`);
    }
    progress.warn(found.terminating ? `namespace ${tapNs} is being deleted; waiting for it to go` : `removing a stale stack in namespace ${tapNs} (its session ${found.session ?? '?'} stopped ${found.heartbeatAgeMs === undefined ? 'long ago' : `${Math.round(found.heartbeatAgeMs / 1000)} s ago`})`);
    const result = await deleteStack(client, tapNs, found.clusterScoped, { onWait: (left) => progress.status(`waiting for ${left.join(', ')} to go`) });
    progress.clearStatus();
    if (result.remaining.length > 0) throw new StackError(`the stale stack did not go within 60 s: ${result.remaining.join(', ')}`);
  }
  if (rt.stop.requested) throw new StackError('stopped before install');
  progress.status('installing the stack');
  const owner = `${safeUser()}@${hostname()} pid ${process.pid}`;
  const installed = await installStack(client, objects, { [LABELS.heartbeat]: new Date().toISOString(), [LABELS.owner]: owner });
  rt.installed = installed;
  const job = installed.created.find((o) => o.kind === 'Job');
  rt.heartbeat = new Heartbeat(client, {
    namespace: tapNs,
    job: job && installed.jobCreatedAt ? { name: job.metadata.name, createdAt: installed.jobCreatedAt, orphanSeconds: Number(job.spec.activeDeadlineSeconds) } : undefined,
    onError: (err) => progress.warn(`heartbeat failed: ${errorLine(err)}`),
  });
  rt.heartbeat.start();
  return installed;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

async function installedToken(client: KubeClient, tapNs: string): Promise<string> {
  const secret = await client.getIfExists<{ data?: Record<string, string> }>(`/api/v1/namespaces/${tapNs}/secrets/${SECRET_NAME}`);
  const token = secret?.data?.token ? Buffer.from(secret.data.token, 'base64').toString('utf8') : undefined;
  if (!token) throw new StackError(`no pre-installed stack in namespace ${tapNs} (secret ${SECRET_NAME} with a token not found); install one with: kubectl tap manifests | kubectl apply -f -`);
  return token;
}

async function waitForTappers(rt: Runtime, watch: TapperWatch, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (rt.stop.requested) return;
    const desired = watch.desired();
    const ready = watch.ready().length;
    if (desired !== undefined) rt.progress.status(`tappers ready ${ready}/${desired}`);
    if (desired !== undefined && desired > 0 && ready >= desired) {
      rt.progress.clearStatus();
      // On a terminal the redrawn line is erased: say the final count once.
      if (process.stderr.isTTY) rt.progress.notice(`tappers ready ${ready}/${desired}`);
      return;
    }
    if (Date.now() > deadline) {
      throw new StackError(desired === 0 ? 'no node can run a tapper (check --node-selector and the nodes\' taints)' : `only ${ready} of ${desired ?? '?'} tappers became ready within ${Math.round(timeoutMs / 1000)} s (see kubectl get pods -n ${rt.tapNs})`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 250)), rt.stop.wait]);
  }
}

/** Every tapper ready now, asked at once; a mismatch ends the session before anything streams. */
async function checkVersions(versions: TapperVersions, ready: ReadyTapper[]): Promise<void> {
  const results = await Promise.allSettled(ready.map((t) => versions.check(t)));
  const mismatch = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof TapperVersionError);
  // A tapper that could not be asked now is asked again before its stream (the fan-in retries).
  if (mismatch) throw mismatch.reason;
}

function versionRemedy(req: TapRequest): string {
  if (req.useInstalled) return `re-install the stack at this version (kubectl tap manifests | kubectl apply -f -)`;
  return req.stack.image === DEFAULT_TAPPER_IMAGE
    ? `the image ${DEFAULT_TAPPER_IMAGE} in this cluster is not the one this release built; load or push the release's image`
    : `use the tapper image of version ${CLI_VERSION} (leave out --tapper-image for ${DEFAULT_TAPPER_IMAGE}, or give a copy of it)`;
}

function describeSelection(req: TapRequest, namespaces: string[]): string {
  const what = req.pods ?? req.query ?? 'every pod';
  const where = namespaces.length === 0 ? 'all namespaces' : `namespace${namespaces.length > 1 ? 's' : ''} ${namespaces.join(', ')}`;
  return `${what}${req.selector ? ` with labels ${req.selector}` : ''} in ${where}`;
}

/**
 * Every way a session ends, in one place: the first signal (or a closed stdout, or an error)
 * asks to stop, a second signal hurries (teardown does not wait for deletion to finish).
 */
class Stopper {
  requested = false;
  /** The first stop was a signal (SIGINT, SIGTERM, SIGHUP). */
  signalled = false;
  hurried = false;
  error: unknown;
  private resolve!: () => void;
  readonly wait = new Promise<void>((r) => (this.resolve = r));
  private handlers: [NodeJS.Signals, () => void][] = [];

  install(progress: Progress): void {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]) {
      const handler = () => {
        if (this.requested) {
          this.hurried = true;
          progress.warn('stopping now: not waiting for the stack to be gone');
          return;
        }
        this.signalled = true;
        this.request(signal);
      };
      process.on(signal, handler);
      this.handlers.push([signal, handler]);
    }
  }

  uninstall(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
  }

  request(_why: string): void {
    this.requested = true;
    this.resolve();
  }

  fail(err: unknown): void {
    this.error ??= err;
    this.request('error');
  }

  exitCode(): number {
    if (this.error === undefined) return 0;
    return this.error instanceof UsageError ? 2 : 1;
  }
}
