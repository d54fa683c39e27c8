// Nodes joining and leaving a running cluster (`npm run cluster -- add-node` / `remove-node NAME`).
// Joining: a node netns on the bridge with routes to every other node's pod range (and theirs
// to it), then the kubelet registers the Node object; the DaemonSet controller and the
// scheduler pick it up from there, and kube-proxy programs it on its next pass. Leaving: the
// kubelet stops managing the node, the Node object is deleted, the pod garbage collector
// force-deletes the pods bound to it (which stops their processes), and the node's network
// goes. The daemon serves both on a Unix socket in the state directory (control.sock).
import http from 'node:http';
import { rmSync } from 'node:fs';
import type { ApiServer } from './api/server.js';
import type { ClusterNames } from './paths.js';
import { kinds, type Ctx } from './controllers/context.js';
import type { Kubelet, NodeInfo } from './controllers/kubelet.js';
import { nodeObject } from './bootstrap.js';
import { createNode, deleteNetns, nodeIp, podCidr } from './net/plumbing.js';
import { runQuiet, run } from './exec.js';

export class Membership {
  constructor(private readonly ctx: Ctx, private readonly names: ClusterNames, private readonly nodes: NodeInfo[], private readonly kubelet: Kubelet, private readonly changed: () => void) {}

  async add(): Promise<NodeInfo> {
    const index = Math.max(0, ...this.nodes.map((x) => x.index)) + 1;
    const node: NodeInfo = { name: `tap-node-${index}`, index, netns: this.names.nodeNetns(index), ip: nodeIp(index) };
    await createNode(this.names.fabricNetns, node.netns, index, this.nodes.map((x) => x.index));
    for (const other of this.nodes) await run('ip', ['-n', other.netns, 'route', 'replace', podCidr(index), 'via', node.ip]);
    this.nodes.push(node);
    const api: ApiServer = this.ctx.api;
    const created = api.create(kinds.Node, undefined, nodeObject(node));
    this.ctx.event(created, 'Normal', 'Starting', 'Starting kubelet.', 'kubelet');
    this.ctx.event(created, 'Normal', 'RegisteredNode', `Node ${node.name} event: Registered Node ${node.name} in Controller`, 'node-controller');
    this.changed();
    return node;
  }

  async remove(name: string): Promise<void> {
    const i = this.nodes.findIndex((x) => x.name === name);
    if (i < 0) throw new Error(`node "${name}" not found`);
    const [node] = this.nodes.splice(i, 1);
    const obj = this.ctx.store.get(kinds.Node, undefined, name);
    if (obj) {
      this.ctx.event(obj, 'Normal', 'RemovingNode', `Node ${name} event: Removing Node ${name} from Controller`, 'node-controller');
      this.ctx.api.delete(kinds.Node, undefined, name, {});
    }
    this.changed();
    const deadline = Date.now() + 20_000;
    while (this.kubelet.runningPods().some((rt) => rt.node.name === name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await deleteNetns(node!.netns);
    await runQuiet('ip', ['-n', this.names.fabricNetns, 'route', 'del', podCidr(node!.index)]);
    for (const other of this.nodes) await runQuiet('ip', ['-n', other.netns, 'route', 'del', podCidr(node!.index)]);
  }

  /** POST /nodes and DELETE /nodes/NAME on the control socket. */
  serve(socket: string): http.Server {
    rmSync(socket, { force: true });
    const server = http.createServer((req, res) => {
      const reply = (code: number, body: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const m = /^\/nodes(?:\/([^/]+))?$/.exec(req.url ?? '');
      const job = !m ? undefined
        : req.method === 'POST' && !m[1] ? this.add().then((x) => ({ name: x.name, ip: x.ip }))
          : req.method === 'DELETE' && m[1] ? this.remove(decodeURIComponent(m[1])).then(() => ({ removed: m[1] }))
            : undefined;
      if (!job) return reply(404, { error: 'unknown request' });
      job.then((body) => reply(200, body), (err: Error) => reply(/not found/.test(err.message) ? 404 : 500, { error: err.message }));
    });
    server.listen(socket);
    return server;
  }
}
