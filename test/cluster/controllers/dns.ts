// Cluster DNS data: a hosts file (in the directory dnsmasq watches with --hostsdir, so it
// reloads by itself) with NAME.NS.svc.cluster.local for every Service ClusterIP, plus the
// "external-looking" names listed in ConfigMap kube-system/cluster-dns-hosts, whose values
// name a Service ("NS/NAME") that answers for them.
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { kinds, type Controller, type Ctx } from './context.js';

export function dnsController(ctx: Ctx, dir: string): Controller {
  let last = '';
  mkdirSync(dir, { recursive: true });
  return {
    name: 'cluster-dns',
    reconcile() {
      const lines: string[] = [];
      const services = ctx.store.list(kinds.Service);
      for (const s of services) {
        if (s.spec?.clusterIP && s.spec.clusterIP !== 'None') lines.push(`${s.spec.clusterIP}\t${s.metadata.name}.${s.metadata.namespace}.svc.cluster.local`);
      }
      const extra = ctx.store.get(kinds.ConfigMap, 'kube-system', 'cluster-dns-hosts');
      for (const [name, ref] of Object.entries(extra?.data ?? {})) {
        const [ns, svcName] = String(ref).split('/');
        const svc = services.find((s) => s.metadata.namespace === ns && s.metadata.name === svcName);
        if (svc?.spec?.clusterIP) lines.push(`${svc.spec.clusterIP}\t${name}`);
      }
      const text = lines.sort().join('\n') + '\n';
      if (text === last) return;
      const tmp = join(dir, '.hosts.tmp');
      writeFileSync(tmp, text);
      renameSync(tmp, join(dir, 'cluster.hosts'));
      last = text;
    },
  };
}
