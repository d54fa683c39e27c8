// The cluster process started by `up`: builds the network, serves the API, runs the
// controllers and the kubelet, and on SIGTERM stops every pod and removes every netns.
// State for crash recovery is written to state.json before anything is created.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { names, stateDir, repoRoot } from './paths.js';
import { makePki, makeWorkloadCert } from './pki.js';
import { CERT_USERS, makeTokens, writeKubeconfig } from './users.js';
import { ApiServer } from './api/server.js';
import { proxyRequest } from './api/proxy.js';
import { serveLog } from './api/logs.js';
import { kinds, makeEventRecorder, Runner, type Ctx } from './controllers/context.js';
import { namespaceController, beginNamespaceDeletion } from './controllers/namespaces.js';
import { garbageCollector } from './controllers/gc.js';
import { deploymentController, replicaSetController, daemonSetController } from './controllers/workloads.js';
import { scheduler } from './controllers/scheduler.js';
import { jobController, ttlAfterFinishedController } from './controllers/jobs.js';
import { podGarbageCollector } from './controllers/podgc.js';
import { Membership } from './membership.js';
import { endpointsController } from './controllers/endpoints.js';
import { Kubelet, logPath, type NodeInfo } from './controllers/kubelet.js';
import { kubeProxy } from './controllers/kubeproxy.js';
import { dnsController } from './controllers/dns.js';
import { createFabric, createNode, nodeIp, API_ADVERTISE_IP, API_SECURE_PORT } from './net/plumbing.js';
import { bootstrap, createAll } from './bootstrap.js';
import { teardown, type ClusterState } from './state.js';
import type { KubeObject } from './api/store.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const dir = stateDir(arg('dir'));
  const n = names(dir);
  const nodeCount = Number(arg('nodes') ?? 2);
  const withShop = process.argv.includes('--shop');
  for (const d of [n.logsDir, n.podsDir, n.dnsHostsDir]) mkdirSync(d, { recursive: true });
  const state: ClusterState = { pid: process.pid, dir, id: n.id, netnsPrefix: n.netnsPrefix, ready: false, pids: [] };
  const saveState = () => writeFileSync(n.statePath, JSON.stringify(state, null, 2));
  saveState();

  const pki = await makePki(n.pkiDir, CERT_USERS);
  const nodes: NodeInfo[] = Array.from({ length: nodeCount }, (_, i) => ({ name: `tap-node-${i + 1}`, index: i + 1, netns: n.nodeNetns(i + 1), ip: nodeIp(i + 1) }));
  await createFabric(n.fabricNetns);
  for (const node of nodes) await createNode(n.fabricNetns, node.netns, node.index, nodes.map((x) => x.index));

  const relay: ChildProcess = spawn('ip', ['netns', 'exec', n.fabricNetns, process.execPath, join(dir, 'bin', 'relay.mjs'), n.relaySocket,
    '--forward', `${API_ADVERTISE_IP}:${API_SECURE_PORT}=${n.apiSocket}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  state.pids.push(relay.pid!);
  saveState();
  await new Promise<void>((resolve, reject) => {
    relay.stdout!.once('data', () => resolve());
    relay.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });

  const { viewerToken, tokens } = makeTokens();
  let kubelet: Kubelet | undefined;
  let ctx: Ctx | undefined;
  const api: ApiServer = new ApiServer({
    tls: { ca: pki.ca, cert: pki.server.cert, key: pki.server.key },
    tokens,
    auditLog: join(n.logsDir, 'audit.log'),
    hooks: {
      onDelete(r, obj) {
        if (r.kind === 'Namespace') {
          beginNamespaceDeletion(ctx!, obj.metadata.name);
          return true;
        }
        if (r.kind === 'Pod' && obj.spec?.nodeName && obj.status?.phase !== 'Succeeded' && obj.status?.phase !== 'Failed') {
          api.store.mutate(r, obj.metadata.namespace, obj.metadata.name, (o) => {
            o.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
            o.metadata.deletionGracePeriodSeconds = o.spec.terminationGracePeriodSeconds ?? 30;
          });
          return true;
        }
        return false;
      },
      proxy: (req, res, upgrade, target) => proxyRequest(api.store, n.relaySocket, req, res, upgrade, target),
      log: (req, res, pod, container, q) => serveLog(req, res, logPath(n, pod.metadata.namespace, pod.metadata.name, container), q,
        () => !!api.store.get(kinds.Pod, pod.metadata.namespace, pod.metadata.name)),
    },
  });
  const port = await api.listen('127.0.0.1', 0);
  await api.listenUnix(n.apiSocket);
  state.port = port;
  saveState();

  ctx = { api, store: api.store, event: makeEventRecorder(api.store) };
  bootstrap(api, nodes);
  let runner: Runner | undefined;
  kubelet = new Kubelet(ctx, n, nodes, () => runner?.schedule());
  runner = new Runner(api.store, [
    namespaceController(ctx, pki.ca), garbageCollector(ctx), deploymentController(ctx), replicaSetController(ctx), daemonSetController(ctx),
    jobController(ctx), ttlAfterFinishedController(ctx), podGarbageCollector(ctx), scheduler(ctx), endpointsController(ctx), dnsController(ctx, n.dnsHostsDir), kubeProxy(ctx, nodes), kubelet,
  ]);
  runner.start();
  const membership = new Membership(ctx, n, nodes, kubelet, () => {
    state.nodes = nodes.map((x) => x.netns);
    saveState();
    runner?.schedule();
  });
  const control = membership.serve(n.controlSocket);

  if (withShop) {
    const docs = yaml.loadAll(readFileSync(join(repoRoot, 'test', 'cluster', 'shop', 'shop.yaml'), 'utf8')).filter(Boolean) as KubeObject[];
    const mesh = await makeWorkloadCert(n.pkiDir, 'shop-mesh', ['payments.shop.svc.cluster.local', 'checkout.shop.svc.cluster.local']);
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mesh-certs', namespace: 'shop' }, type: 'Opaque', stringData: { cert: mesh.cert, key: mesh.key, ca: pki.ca } };
    const nsDocs = docs.filter((d) => d.kind === 'Namespace');
    createAll(api, [...nsDocs, secret, ...docs.filter((d) => d.kind !== 'Namespace')]);
  }
  writeKubeconfig(n.kubeconfig, port, pki, viewerToken);
  state.ready = true;
  state.nodes = nodes.map((x) => x.netns);
  saveState();
  console.log(`cluster ready on https://127.0.0.1:${port}`);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('shutting down');
    control.close();
    runner!.stop();
    await kubelet!.stopAll();
    await api.close();
    relay.kill('SIGTERM');
    await teardown(state, n.mountPointsFile);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((err) => {
  console.error('cluster failed to start:', err);
  process.exit(1);
});
