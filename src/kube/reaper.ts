// The reaper, run in the cluster by the stack's Job (`tapper reap --namespace NS --stale-after
// SECONDS`, with the reaper service account's token): it watches the session's heartbeat
// annotation and, once it has not changed for SECONDS by the reaper's own clock (so clock
// skew between the CLI's machine and the node does not matter), deletes the tap namespace,
// which takes the whole stack with it. See docs/self-removal.md.
import { ApiError } from './errors.js';
import { InClusterClient, type NamespaceApi } from './in-cluster.js';
import { LABELS } from './labels.js';

export interface ReaperOptions {
  namespace: string;
  staleAfterSeconds: number;
  pollMs?: number;
  log?: (line: string) => void;
}

export async function runReaper(client: NamespaceApi, opts: ReaperOptions): Promise<'deleted' | 'gone'> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} reaper: ${line}\n`));
  const path = `/api/v1/namespaces/${opts.namespace}`;
  let lastBeat: string | undefined;
  let lastChange = performance.now();
  log(`watching the heartbeat of namespace ${opts.namespace}; removing it after ${opts.staleAfterSeconds} s without one`);
  for (;;) {
    try {
      const ns = await client.getIfExists<{ metadata: { annotations?: Record<string, string>; deletionTimestamp?: string } }>(path);
      if (!ns || ns.metadata.deletionTimestamp) {
        log('the namespace is gone or going: nothing to do');
        return 'gone';
      }
      const beat = ns.metadata.annotations?.[LABELS.heartbeat];
      if (beat !== lastBeat) {
        lastBeat = beat;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > opts.staleAfterSeconds * 1000) {
        log(`no heartbeat for ${opts.staleAfterSeconds} s (last ${beat ?? 'never'}): deleting namespace ${opts.namespace}`);
        await client.delete(path);
        return 'deleted';
      }
    } catch (err) {
      // The API server may be briefly unreachable; keep trying. The Job's deadline bounds us.
      log(`cannot read namespace ${opts.namespace}: ${err instanceof ApiError ? `${err.code} ${err.message}` : String(err)}`);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 5000));
  }
}

/** `reap` from the command line of the tapper image, with the pod's in-cluster credentials. */
export async function reapMain(argv: string[]): Promise<number> {
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const namespace = flag('--namespace');
  const staleAfterSeconds = Number(flag('--stale-after'));
  if (!namespace || !(staleAfterSeconds > 0)) {
    process.stderr.write('usage: reap --namespace NS --stale-after SECONDS\n');
    return 2;
  }
  await runReaper(new InClusterClient(), { namespace, staleAfterSeconds });
  return 0;
}
