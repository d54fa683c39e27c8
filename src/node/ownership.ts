// Which node's tapper reports a call (docs/tapper-api.md, "One call, one entry"), decided by
// every tapper alike from the session's targets, so the CLI never pairs copies:
//   - the client's node, when the client is a target pod (it saw the ClusterIP dialled);
//   - otherwise the server's node (callers outside the targets);
//   - but the server's node when the server is a meshed pod (a sidecar, docs/mesh.md): only
//     that node sees the plaintext inside the pod, and it folds the mTLS leg into it.
// "Client" is the entry's `src` (for the few calls a server starts, AMQP deliveries and
// Redis pushes, that is the server: both tappers still read the same entry the same way).

import type { Entry } from '../entry.js';
import type { SessionView } from './targets.js';

export type LocalEnd = 'src' | 'dst';

export type Placement =
  /** Neither end is a target of this session: not its business. */
  | { kind: 'unrelated' }
  /** Another node's tapper reports it. */
  | { kind: 'otherNode'; owner: string }
  | { kind: 'report'; local: LocalEnd[] };

export function placeEntry(entry: Entry, session: SessionView | undefined, nodeName: string, reportUntargeted: boolean): Placement {
  const srcPod = session?.podsByIp.get(entry.src.ip);
  const dstPod = session?.podsByIp.get(entry.dst.ip);
  const local: LocalEnd[] = [];
  if (srcPod?.node === nodeName) local.push('src');
  if (dstPod?.node === nodeName) local.push('dst');
  const owner = dstPod?.sidecar ? dstPod.node : (srcPod?.node ?? dstPod?.node);
  if (owner === undefined) return reportUntargeted ? { kind: 'report', local } : { kind: 'unrelated' };
  if (owner !== nodeName) return { kind: 'otherNode', owner };
  return { kind: 'report', local };
}
