// kube-proxy in iptables mode, in every node's namespace: for each Service port a rule in
// nat/TAP-SERVICES sends ClusterIP:port to a per-service chain that DNATs to one ready
// endpoint chosen at random (the statistic module), as the real kube-proxy does. A Service
// port with no ready endpoint gets, as with the real one, a REJECT in filter/TAP-SERVICES
// (its "has no endpoints" rule): a client connecting then is refused at once. Without it the
// SYN went out un-NATed, and its conntrack entry kept every retransmission from the DNAT
// that came with the first ready endpoint: clients that started before their server hung
// in SYN-SENT for two minutes (the shop's AMQP clients did, on a busy machine).
import { createHash } from 'node:crypto';
import { kinds, type Controller, type Ctx } from './context.js';
import { applyServiceRules } from '../net/plumbing.js';
import type { NodeInfo } from './kubelet.js';

function chainName(ns: string, svc: string, port: string, proto: string): string {
  return 'TAP-SVC-' + createHash('sha256').update(`${ns}/${svc}:${port}/${proto}`).digest('base64url').replace(/[-_]/g, 'X').slice(0, 16).toUpperCase();
}

export function renderServiceRules(ctx: Ctx, previousChains: Set<string>): { text: string; chains: Set<string> } {
  const lines: string[] = ['*nat', ':TAP-SERVICES - [0:0]'];
  const rules: string[] = [];
  const rejects: string[] = [];
  const chains = new Set<string>();
  const slices = ctx.store.list(kinds.EndpointSlice);
  for (const svc of ctx.store.list(kinds.Service)) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const ns = svc.metadata.namespace as string;
    const mine = slices.filter((s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name);
    for (const port of svc.spec.ports ?? []) {
      const proto = String(port.protocol ?? 'TCP').toLowerCase();
      const targets: string[] = [];
      for (const s of mine) {
        const sp = (s.ports ?? []).find((p: any) => (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP'));
        if (!sp) continue;
        for (const e of s.endpoints ?? []) if (e.conditions?.ready) for (const a of e.addresses ?? []) targets.push(`${a}:${sp.port}`);
      }
      if (targets.length === 0) {
        rejects.push(`-A TAP-SERVICES -d ${ip}/32 -p ${proto} -m ${proto} --dport ${port.port} -m comment --comment "${ns}/${svc.metadata.name}:${port.name ?? ''} has no endpoints" -j REJECT --reject-with icmp-port-unreachable`);
        continue;
      }
      const chain = chainName(ns, svc.metadata.name, String(port.port), proto);
      chains.add(chain);
      lines.push(`:${chain} - [0:0]`);
      rules.push(`-A TAP-SERVICES -d ${ip}/32 -p ${proto} -m ${proto} --dport ${port.port} -m comment --comment "${ns}/${svc.metadata.name}:${port.name ?? ''}" -j ${chain}`);
      targets.forEach((t, i) => {
        const left = targets.length - i;
        const stat = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(5)} ` : '';
        rules.push(`-A ${chain} ${stat}-p ${proto} -j DNAT --to-destination ${t}`);
      });
    }
  }
  const stale = [...previousChains].filter((c) => !chains.has(c));
  for (const c of stale) lines.push(`:${c} - [0:0]`);
  lines.push(...rules);
  for (const c of stale) lines.push(`-X ${c}`);
  lines.push('COMMIT', '*filter', ':TAP-SERVICES - [0:0]', ...rejects, 'COMMIT', '');
  return { text: lines.join('\n'), chains };
}

/** One kube-proxy per node: each node's rules are rewritten when they differ from what it last got (a joining node gets them at once). */
export function kubeProxy(ctx: Ctx, nodes: NodeInfo[]): Controller {
  const applied = new Map<string, string>();
  let chains = new Set<string>();
  return {
    name: 'kube-proxy',
    async reconcile() {
      const { text, chains: next } = renderServiceRules(ctx, chains);
      const stale = nodes.filter((n) => applied.get(n.netns) !== text);
      await Promise.all(stale.map(async (n) => {
        await applyServiceRules(n.netns, text);
        applied.set(n.netns, text);
      }));
      for (const netns of applied.keys()) if (!nodes.some((n) => n.netns === netns)) applied.delete(netns);
      chains = next;
    },
  };
}
