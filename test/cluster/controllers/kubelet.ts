// The kubelet for every node: turns each pod bound to a node into a pod network namespace
// (net/plumbing.ts, the CNI step) and real processes (images.ts maps images to commands),
// sets up the pod's volumes first (volumes.ts; mounted per container by mountns.ts), puts a
// container with a memory limit in its own memory cgroup (cgroups.ts), restarts exited
// containers per restartPolicy with back-off, reports image pull failures, runs readiness
// probes, reports pod status (OOMKilled included), and on deletion stops the processes
// (SIGTERM, then SIGKILL after the grace period) and removes the sandbox before the pod
// object goes away.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { join } from 'node:path';
import type { KubeObject } from '../api/store.js';
import { kinds, now, type Controller, type Ctx } from './context.js';
import { setCondition } from './util.js';
import { resolveImage, expandDir } from '../images.js';
import { createPodNetwork, deleteNetns, writeNetnsEtc } from '../net/plumbing.js';
import { dial, probeTcp } from '../net/dial.js';
import type { ClusterNames } from '../paths.js';
import { materializeVolumes, VolumeError, type Mount, type VolumeContext } from './volumes.js';
import { prepareMountPoints, withMounts } from './mountns.js';
import { fieldValue, resourceFieldValue, type PodRuntime } from './downward.js';
import { createMemoryCgroup, type MemoryCgroup } from './cgroups.js';
import { parseQuantity } from './quantity.js';
import { ContainerRuntime, startPodContainer, type RunningContainer } from './container-runtime.js';

export interface NodeInfo {
  name: string;
  index: number;
  netns: string;
  ip: string;
}

interface ContainerRt {
  name: string;
  spec: any;
  proc?: ChildProcess;
  restartCount: number;
  state: Record<string, any>;
  lastState?: Record<string, any>;
  ready: boolean;
  lastProbe: number;
  restartTimer?: NodeJS.Timeout;
  log?: LogFile;
  /** image pulls failed in a row (the image back-off) */
  pullFailures?: number;
  /** the memory cgroup enforcing limits.memory, if any */
  cgroup?: MemoryCgroup;
  /** set when the container path runs it (container-runtime.ts) */
  container?: RunningContainer;
}

interface PodRt {
  uid: string;
  namespace: string;
  name: string;
  node: NodeInfo;
  netns: string;
  ip: string;
  hostNetwork: boolean;
  dir: string;
  containers: ContainerRt[];
  phase: 'starting' | 'running' | 'stopping';
  startTime: string;
  /** each container's volume mounts, set up before any container starts */
  mounts: Map<string, Mount[]>;
  /** files the kubelet itself mounts into every container (a hostNetwork pod's resolv.conf) */
  etcMounts: Mount[];
  mountRetry?: NodeJS.Timeout;
  /** projected tokens, reused until 80% of their lifetime (the kubelet's token manager) */
  tokens: Map<string, { token: string; refreshAt: number }>;
  lastVolumeSync: number;
}

/** Bound per container log: past this the file is rotated to `.1` and restarted. */
const LOG_LIMIT = 4 << 20;
const MAX_BACKOFF_MS = 10_000;
const VOLUME_SYNC_MS = 2000;

class LogFile {
  private stream: WriteStream;
  private size = 0;

  constructor(private readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
  }

  write(chunk: Buffer): void {
    if (this.size + chunk.length > LOG_LIMIT) {
      this.stream.end();
      try {
        renameSync(this.path, `${this.path}.1`);
      } catch {
        // a reader may have removed it
      }
      this.stream = createWriteStream(this.path, { flags: 'a' });
      this.size = 0;
    }
    this.size += chunk.length;
    this.stream.write(chunk);
  }

  close(): void {
    this.stream.end();
  }
}

function containerId(c: ContainerRt, proc: ChildProcess): string {
  return c.container ? `podman://${c.container.id}` : `tap://${proc.pid}`;
}

export function logPath(names: ClusterNames, ns: string, pod: string, container: string): string {
  return join(names.logsDir, `${ns}_${pod}_${container}.log`);
}

export class Kubelet implements Controller {
  readonly name = 'kubelet';
  private readonly pods = new Map<string, PodRt>();
  private readonly usedIps = new Map<number, Set<number>>();
  private readonly runtime = ContainerRuntime.detect();

  constructor(private readonly ctx: Ctx, private readonly names: ClusterNames, private readonly nodes: NodeInfo[], private readonly poke: () => void) {}

  runningPods(): PodRt[] {
    return [...this.pods.values()];
  }

  async reconcile(): Promise<void> {
    const { store } = this.ctx;
    const objects = new Map(store.list(kinds.Pod).map((p) => [p.metadata.uid as string, p]));
    for (const pod of objects.values()) {
      const node = this.nodes.find((n) => n.name === pod.spec.nodeName);
      if (!node || this.pods.has(pod.metadata.uid) || pod.metadata.deletionTimestamp) continue;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      void this.start(pod, node);
    }
    for (const pod of objects.values()) {
      if (!pod.metadata.deletionTimestamp) continue;
      const rt = this.pods.get(pod.metadata.uid);
      if (!rt) {
        if (!pod.spec.nodeName || !this.nodes.some((n) => n.name === pod.spec.nodeName) || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || pod.status?.phase === 'Pending') {
          this.removeObject(pod);
        }
        continue;
      }
      if (rt.phase !== 'stopping') void this.stop(rt, pod).then(() => this.removeObject(pod));
    }
    for (const rt of this.pods.values()) {
      if (!objects.has(rt.uid) && rt.phase !== 'stopping') void this.stop(rt);
      else if (rt.phase === 'running') {
        this.probe(rt);
        void this.syncVolumes(rt);
        this.writeStatus(rt);
      }
    }
  }

  private removeObject(pod: KubeObject): void {
    try {
      this.ctx.store.remove(kinds.Pod, pod.metadata.namespace, pod.metadata.name);
    } catch {
      // already removed
    }
  }

  private allocateIp(node: NodeInfo): string {
    let used = this.usedIps.get(node.index);
    if (!used) this.usedIps.set(node.index, (used = new Set()));
    for (let i = 2; i < 255; i++) {
      if (!used.has(i)) {
        used.add(i);
        return `10.244.${node.index}.${i}`;
      }
    }
    throw new Error(`node ${node.name}: pod range exhausted`);
  }

  private releaseIp(rt: PodRt): void {
    if (rt.hostNetwork) return;
    this.usedIps.get(rt.node.index)?.delete(Number(rt.ip.split('.')[3]));
  }

  private async start(pod: KubeObject, node: NodeInfo): Promise<void> {
    const uid = pod.metadata.uid as string;
    const hostNetwork = !!pod.spec.hostNetwork;
    const rt: PodRt = {
      uid, namespace: pod.metadata.namespace, name: pod.metadata.name, node, hostNetwork,
      netns: hostNetwork ? node.netns : this.names.podNetns(uid),
      ip: hostNetwork ? node.ip : this.allocateIp(node),
      dir: join(this.names.podsDir, uid), phase: 'starting', startTime: now(), mounts: new Map(), etcMounts: [], tokens: new Map(), lastVolumeSync: Date.now(),
      containers: (pod.spec.containers ?? []).map((c: any) => ({ name: c.name, spec: c, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } }, ready: false, lastProbe: 0 })),
    };
    this.pods.set(uid, rt);
    try {
      mkdirSync(rt.dir, { recursive: true });
      if (!hostNetwork) {
        await createPodNetwork(node.netns, { netns: rt.netns, ip: rt.ip, hostVeth: `tapv${uid.replace(/-/g, '').slice(0, 8)}` });
        const search = `${rt.namespace}.svc.cluster.local svc.cluster.local cluster.local`;
        if (pod.spec.dnsPolicy !== 'Default') writeNetnsEtc(rt.netns, 'resolv.conf', `search ${search}\nnameserver 10.96.0.10\noptions ndots:5\n`);
        writeNetnsEtc(rt.netns, 'hosts', `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n${rt.ip}\t${rt.name}\n`);
      } else if (pod.spec.dnsPolicy === 'ClusterFirstWithHostNet') {
        // the node's netns is shared, so the pod's own resolv.conf is a bind mount, as the kubelet's is
        const resolv = join(rt.dir, 'resolv.conf');
        writeFileSync(resolv, `search ${rt.namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n`);
        rt.etcMounts.push({ source: resolv, target: '/etc/resolv.conf', readOnly: false });
      }
    } catch (err) {
      this.ctx.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      rt.phase = 'running';
      for (const c of rt.containers) c.state = { waiting: { reason: 'ContainerCreating', message: 'sandbox failed' } };
      this.writeStatus(rt);
      return;
    }
    if ((rt.phase as string) === 'stopping') return;
    rt.phase = 'running';
    await this.startContainers(rt);
    this.writeStatus(rt);
  }

  private runtimeOf(rt: PodRt): PodRuntime {
    return { podIP: rt.ip, hostIP: rt.node.ip, nodeName: rt.node.name };
  }

  private volumeContext(rt: PodRt): VolumeContext {
    const node = this.ctx.store.get(kinds.Node, undefined, rt.node.name);
    return {
      store: this.ctx.store, podDir: rt.dir, runtime: this.runtimeOf(rt), allocatable: node?.status?.allocatable ?? {},
      serviceAccountToken: (pod, audience, expirationSeconds) => {
        const key = `${audience ?? ''}/${expirationSeconds}`;
        const cached = rt.tokens.get(key);
        if (cached && Date.now() < cached.refreshAt) return cached.token;
        const { token } = this.ctx.api.tokenIssuer.issue(rt.namespace, pod.spec.serviceAccountName ?? 'default', {
          audiences: audience ? [audience] : undefined, expirationSeconds, boundObjectRef: { kind: 'Pod', name: rt.name, uid: rt.uid },
        }, node ? { name: node.metadata.name, uid: node.metadata.uid } : undefined);
        rt.tokens.set(key, { token, refreshAt: Date.now() + expirationSeconds * 800 });
        return token;
      },
    };
  }

  /**
   * The volume manager's periodic sync: Secret, ConfigMap, downward API and projected volumes
   * are rewritten when their sources changed (atomically, through `..data`), every 2 s here
   * (a real kubelet: its sync period plus the object cache's TTL, about a minute). subPath
   * mounts keep what they had, as on a real node.
   */
  private async syncVolumes(rt: PodRt): Promise<void> {
    if (Date.now() - rt.lastVolumeSync < VOLUME_SYNC_MS || rt.mounts.size === 0) return;
    rt.lastVolumeSync = Date.now();
    const pod = this.ctx.store.get(kinds.Pod, rt.namespace, rt.name);
    if (!pod) return;
    for (const c of rt.containers) {
      try {
        await materializeVolumes(pod, c.spec, this.volumeContext(rt));
      } catch (err) {
        if (!(err instanceof VolumeError)) throw err;
        this.ctx.event(pod, 'Warning', 'FailedMount', err.message); // the source went away: the old content stays
      }
    }
  }

  /** The volume manager's step: every container's mounts, then the containers; FailedMount retries every 2 s. */
  private async startContainers(rt: PodRt): Promise<void> {
    const pod = this.ctx.store.get(kinds.Pod, rt.namespace, rt.name);
    if (!pod || rt.phase !== 'running') return;
    try {
      for (const c of rt.containers) rt.mounts.set(c.name, [...rt.etcMounts, ...await materializeVolumes(pod, c.spec, this.volumeContext(rt))]);
    } catch (err) {
      if (!(err instanceof VolumeError)) throw err;
      this.ctx.event(pod, 'Warning', 'FailedMount', err.message);
      rt.mountRetry = setTimeout(() => void this.startContainers(rt).then(() => this.writeStatus(rt)), 2000);
      return;
    }
    for (const c of rt.containers) this.launch(rt, c);
  }

  private envFor(rt: PodRt, pod: KubeObject, c: any): Record<string, string> | string {
    const { store } = this.ctx;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOSTNAME: rt.name, HOME: join(rt.dir, c.name) };
    // the master service always (even without service links), then the namespace's own services
    const master = store.get(kinds.Service, 'default', 'kubernetes');
    const links = [...(master ? [master] : []), ...(pod.spec.enableServiceLinks !== false ? store.list(kinds.Service, rt.namespace) : [])];
    for (const svc of links) if (svc.spec?.clusterIP && svc.spec.clusterIP !== 'None') Object.assign(env, serviceLinkEnv(svc));
    const data = (kind: 'secret' | 'configmap', name: string): Record<string, string> | undefined => {
      const o = store.get(kind === 'secret' ? kinds.Secret : kinds.ConfigMap, rt.namespace, name);
      if (!o) return undefined;
      if (kind === 'configmap') return o.data ?? {};
      return Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
    };
    for (const src of c.envFrom ?? []) {
      const ref = src.secretRef ?? src.configMapRef;
      const d = data(src.secretRef ? 'secret' : 'configmap', ref?.name);
      if (!d) {
        if (ref?.optional) continue;
        return `${src.secretRef ? 'secret' : 'configmap'} "${ref?.name}" not found`;
      }
      for (const [k, v] of Object.entries(d)) env[`${src.prefix ?? ''}${k}`] = v;
    }
    const expand = (s: string) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => env[name] ?? m).replace(/\$\$\(/g, '$(');
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = expand(String(e.value));
      else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
        const ref = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef;
        const v = data(e.valueFrom.secretKeyRef ? 'secret' : 'configmap', ref.name)?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          return `couldn't find key ${ref.key} in ${e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap'} ${rt.namespace}/${ref.name}`;
        }
        env[e.name] = v;
      } else if (e.valueFrom?.fieldRef) {
        env[e.name] = fieldValue(pod, e.valueFrom.fieldRef.fieldPath, this.runtimeOf(rt)) ?? '';
      } else if (e.valueFrom?.resourceFieldRef) {
        const ref = e.valueFrom.resourceFieldRef;
        const target = (pod.spec.containers ?? []).find((x: any) => x.name === ref.containerName) ?? c;
        env[e.name] = resourceFieldValue(target, ref, store.get(kinds.Node, undefined, rt.node.name)?.status?.allocatable ?? {});
      }
    }
    return env;
  }

  private launch(rt: PodRt, c: ContainerRt): void {
    const pod = this.ctx.store.get(kinds.Pod, rt.namespace, rt.name);
    if (!pod || rt.phase !== 'running') return;
    const image = resolveImage(c.spec.image, { stateDir: this.names.dir });
    if (!image) {
      this.pullFailed(rt, c, pod);
      return;
    }
    c.pullFailures = 0;
    const dir = join(rt.dir, c.name);
    mkdirSync(dir, { recursive: true });
    image.prepare?.(dir);
    const env = this.envFor(rt, pod, c.spec);
    if (typeof env === 'string') {
      c.state = { waiting: { reason: 'CreateContainerConfigError', message: env } };
      this.ctx.event(pod, 'Warning', 'Failed', `Error: ${env}`);
      c.restartTimer = setTimeout(() => this.launch(rt, c), 2000);
      return;
    }
    for (const [k, v] of Object.entries(image.env ?? {})) if (!(c.spec.env ?? []).some((e: any) => e.name === k)) env[k] = v.replaceAll('{dir}', dir);
    const expand = (s: string) => String(s).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => env[name] ?? m);
    const argv = expandDir([...(c.spec.command ?? image.entrypoint), ...(c.spec.args ?? (c.spec.command ? [] : image.cmd))], dir).map(expand);
    if (argv.length === 0) {
      c.state = { waiting: { reason: 'RunContainerError', message: 'no command specified' } };
      return;
    }
    mkdirSync(this.names.logsDir, { recursive: true });
    c.log ??= new LogFile(logPath(this.names, rt.namespace, rt.name, c.name));
    const mounts = rt.mounts.get(c.name) ?? [];
    const target = { ctx: this.ctx, cluster: this.names.netnsPrefix, node: rt.node.name, pod, netns: rt.netns, hostNetwork: rt.hostNetwork, container: c, mounts, workDir: dir };
    const container = startPodContainer(this.runtime, target, env);
    if (container === 'failed') return;
    c.container = container === 'process' ? undefined : container;
    // the process path: volumes bind-mounted in the container's own mount namespace (mountns.ts),
    // limits.memory by a memory cgroup the process joins before it execs (cgroups.ts); podman
    // does both itself
    if (!c.container) prepareMountPoints(mounts, this.names.mountPointsFile);
    const memoryLimit = c.container ? undefined : c.spec.resources?.limits?.memory;
    c.cgroup?.remove();
    c.cgroup = memoryLimit ? createMemoryCgroup(`${this.names.netnsPrefix}${rt.uid.slice(0, 8)}-${c.name}`, parseQuantity(String(memoryLimit))) : undefined;
    // (joined before `ip netns exec`, whose fresh /sys has no cgroup mounts)
    const inPod = ['ip', 'netns', 'exec', rt.netns, ...withMounts(mounts, argv)];
    const command = c.cgroup ? ['sh', '-c', 'echo $$ > "$0" && exec "$@"', c.cgroup.procsFile, ...inPod] : inPod;
    const proc = c.container?.proc ?? spawn(command[0]!, command.slice(1), { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    c.proc = proc;
    const startedAt = now();
    c.state = { running: { startedAt } };
    c.ready = !c.spec.readinessProbe;
    c.lastProbe = 0;
    proc.stdout?.on('data', (d: Buffer) => c.log?.write(d));
    proc.stderr?.on('data', (d: Buffer) => c.log?.write(d));
    if (c.restartCount === 0) {
      this.ctx.event(pod, 'Normal', 'Pulled', `Container image "${c.spec.image}" already present on machine`);
      this.ctx.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
    }
    this.ctx.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    proc.on('error', (err) => c.log?.write(Buffer.from(`kubelet: ${err.message}\n`)));
    proc.on('exit', (code, signal) => {
      c.proc = undefined;
      c.ready = false;
      const exitCode = code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[signal] ?? 1) : 1);
      const oomKilled = !!c.cgroup?.oomKilled() || !!c.container?.oomKilled();
      const reason = oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
      c.state = { terminated: { exitCode: oomKilled ? 137 : exitCode, reason, startedAt, finishedAt: now(), containerID: containerId(c, proc) } };
      if (rt.phase !== 'running') return;
      const policy = this.ctx.store.get(kinds.Pod, rt.namespace, rt.name)?.spec?.restartPolicy ?? 'Always';
      if (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0)) {
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** c.restartCount);
        c.lastState = c.state;
        c.state = { waiting: { reason: c.restartCount >= 1 ? 'CrashLoopBackOff' : 'Restarting', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.name} pod=${rt.name}_${rt.namespace}(${rt.uid})` } };
        if (exitCode !== 0) {
          const p = this.ctx.store.get(kinds.Pod, rt.namespace, rt.name);
          if (p) this.ctx.event(p, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${rt.name}_${rt.namespace}(${rt.uid})`);
        }
        c.restartTimer = setTimeout(() => {
          c.restartCount++;
          this.launch(rt, c);
          this.writeStatus(rt);
        }, delay);
      }
      this.writeStatus(rt);
      this.poke();
    });
  }

  /**
   * An image the cluster cannot resolve, reported as the kubelet does: Pulling, Failed and
   * ErrImagePull, then ImagePullBackOff until the next attempt (1 s doubling to 10 s here;
   * 10 s to 5 min in a real kubelet).
   */
  private pullFailed(rt: PodRt, c: ContainerRt, pod: KubeObject): void {
    const image = c.spec.image;
    const why = `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": not found in the simulated cluster's image mapping (test/cluster/images.ts)`;
    this.ctx.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
    this.ctx.event(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${why}`);
    this.ctx.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
    c.state = { waiting: { reason: 'ErrImagePull', message: why } };
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (c.pullFailures ?? 0));
    c.pullFailures = (c.pullFailures ?? 0) + 1;
    c.restartTimer = setTimeout(() => {
      if (rt.phase !== 'running') return;
      const p = this.ctx.store.get(kinds.Pod, rt.namespace, rt.name) ?? pod;
      c.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ErrImagePull: ${why}` } };
      this.ctx.event(p, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
      this.ctx.event(p, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      this.writeStatus(rt);
      c.restartTimer = setTimeout(() => {
        this.launch(rt, c);
        this.writeStatus(rt);
      }, delay);
    }, 1000);
  }

  private probe(rt: PodRt): void {
    for (const c of rt.containers) {
      const p = c.spec.readinessProbe;
      if (!p || !c.proc) continue;
      const period = Math.min(Number(p.periodSeconds ?? 10), 2) * 1000;
      if (Date.now() - c.lastProbe < period) continue;
      c.lastProbe = Date.now();
      const named = (port: unknown) => (typeof port === 'number' ? port : Number((c.spec.ports ?? []).find((x: any) => x.name === port)?.containerPort ?? port));
      let check: Promise<boolean>;
      if (p.tcpSocket) check = probeTcp(this.names.relaySocket, rt.ip, named(p.tcpSocket.port));
      else if (p.httpGet) check = this.probeHttp(rt.ip, named(p.httpGet.port), p.httpGet.path ?? '/', p.httpGet.scheme === 'HTTPS');
      else check = Promise.resolve(true);
      void check.then((ok) => {
        if (c.ready !== ok && c.proc) {
          c.ready = ok;
          this.writeStatus(rt);
        }
      });
    }
  }

  /** As the kubelet: an HTTPS probe does not verify the certificate. */
  private probeHttp(ip: string, port: number, path: string, tlsProbe = false): Promise<boolean> {
    return new Promise((resolve) => {
      const get = tlsProbe ? https.get : http.get;
      const options = { host: ip, port, path, timeout: 1000, headers: { 'User-Agent': 'kube-probe/1.30' }, rejectUnauthorized: false };
      const req = get({ ...options, createConnection: () => (tlsProbe ? tls.connect({ socket: dial(this.names.relaySocket, ip, port), rejectUnauthorized: false }) : dial(this.names.relaySocket, ip, port)) } as https.RequestOptions, (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 400);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
  }

  private writeStatus(rt: PodRt): void {
    const statuses = rt.containers.map((c) => ({
      name: c.name, image: c.spec.image, imageID: `tap-local://${c.spec.image}`, ...(c.proc ? { containerID: containerId(c, c.proc) } : {}),
      ready: c.ready, started: !!c.state.running, restartCount: c.restartCount, state: c.state, ...(c.lastState ? { lastState: c.lastState } : {}),
    }));
    const allReady = rt.containers.every((c) => c.ready);
    const allTerminated = rt.containers.every((c) => c.state.terminated);
    const everStarted = rt.containers.every((c) => c.state.running || c.state.terminated || c.restartCount > 0 || c.lastState);
    const phase = allTerminated ? (rt.containers.every((c) => c.state.terminated.exitCode === 0) ? 'Succeeded' : 'Failed') : everStarted ? 'Running' : 'Pending';
    this.ctx.store.mutate(kinds.Pod, rt.namespace, rt.name, (o) => {
      let cond = setCondition(o.status?.conditions, 'PodScheduled', 'True');
      cond = setCondition(cond, 'Initialized', 'True');
      cond = setCondition(cond, 'ContainersReady', allReady ? 'True' : 'False', allReady ? undefined : 'ContainersNotReady', allReady ? undefined : `containers with unready status: [${rt.containers.filter((c) => !c.ready).map((c) => c.name).join(' ')}]`);
      cond = setCondition(cond, 'Ready', allReady ? 'True' : 'False', allReady ? undefined : 'ContainersNotReady', allReady ? undefined : `containers with unready status: [${rt.containers.filter((c) => !c.ready).map((c) => c.name).join(' ')}]`);
      const order = ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];
      cond.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
      o.status = {
        ...o.status, phase, conditions: cond, hostIP: rt.node.ip, hostIPs: [{ ip: rt.node.ip }], podIP: rt.ip, podIPs: [{ ip: rt.ip }],
        startTime: rt.startTime, containerStatuses: statuses, qosClass: o.status?.qosClass ?? 'BestEffort',
      };
    }, 'status');
  }

  private async stop(rt: PodRt, pod?: KubeObject): Promise<void> {
    rt.phase = 'stopping';
    clearTimeout(rt.mountRetry);
    // Grace is capped at 5 s (tests stay quick); a cluster shutdown (no pod object) allows 1 s.
    const grace = pod ? Math.min(Number(pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30), 5) * 1000 : 1000;
    if (pod) for (const c of rt.containers) if (c.proc) this.ctx.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`);
    await Promise.all(rt.containers.map((c) => this.stopContainer(c, grace)));
    if (!rt.hostNetwork) await deleteNetns(rt.netns);
    this.releaseIp(rt);
    rmSync(rt.dir, { recursive: true, force: true });
    this.pods.delete(rt.uid);
  }

  private stopContainer(c: ContainerRt, graceMs: number): Promise<void> {
    clearTimeout(c.restartTimer);
    const proc = c.proc;
    if (!proc || proc.pid === undefined) {
      c.log?.close();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const kill = (sig: NodeJS.Signals) => {
        if (c.container) return c.container.kill(sig);
        try {
          process.kill(-proc.pid!, sig);
        } catch {
          // group already gone
        }
      };
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      proc.once('exit', () => {
        clearTimeout(timer);
        kill('SIGKILL'); // children left in the group
        c.log?.close();
        setTimeout(() => c.cgroup?.remove(), 100); // once the killed children are gone
        void (c.container?.remove() ?? Promise.resolve()).then(() => resolve());
      });
      kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
    });
  }

  /** Stops everything (daemon shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.pods.values()].map((rt) => this.stop(rt, undefined)));
  }
}

/** The Docker-link style variables of a Service (FOO_SERVICE_HOST, FOO_PORT_80_TCP_ADDR, ...). */
function serviceLinkEnv(svc: KubeObject): Record<string, string> {
  const env: Record<string, string> = {};
  const prefix = String(svc.metadata.name).toUpperCase().replace(/-/g, '_');
  const ip = svc.spec.clusterIP as string;
  const ports = svc.spec.ports ?? [];
  env[`${prefix}_SERVICE_HOST`] = ip;
  env[`${prefix}_SERVICE_PORT`] = String(ports[0]?.port ?? '');
  for (const p of ports) if (p.name) env[`${prefix}_SERVICE_PORT_${String(p.name).toUpperCase().replace(/-/g, '_')}`] = String(p.port);
  if (ports[0]) env[`${prefix}_PORT`] = `${String(ports[0].protocol ?? 'TCP').toLowerCase()}://${ip}:${ports[0].port}`;
  for (const p of ports) {
    const proto = String(p.protocol ?? 'TCP');
    const base = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    env[base] = `${proto.toLowerCase()}://${ip}:${p.port}`;
    env[`${base}_PROTO`] = proto.toLowerCase();
    env[`${base}_PORT`] = String(p.port);
    env[`${base}_ADDR`] = ip;
  }
  return env;
}
