// The caller -> callee edges of a set of entries, one per protocol (gRPC is never folded into
// HTTP): calls, failed calls (call-status.ts) and latency. The service map draws them and the
// run summary lists them, so both always say the same.
//
// Direction: from the entry's src to its dst, except for the brokers (broker-roles.ts): a
// client that only consumes is drawn broker -> client with all its calls; one that produces
// (and maybe controls) client -> broker; one that does both gets both edges, its consumer
// calls on the broker -> client one. So every entry lands on exactly one edge, and the calls
// of all edges add up to the entries.

import type { Entry } from '../entry.js';
import { brokerEnds, brokerRole, isBrokerProtocol } from './broker-roles.js';
import { isFailedCall } from './call-status.js';
import { LatencyHistogram } from './latency.js';
import { addressOf, externalNode, nodeOf, type MapNode } from './nodes.js';
import { TrafficNames } from './traffic-names.js';

export interface Edge {
  from: MapNode;
  to: MapNode;
  protocol: Entry['protocol'];
  calls: number;
  errors: number;
  latency: LatencyHistogram;
}

/** Bound on distinct (caller, callee, protocol) groups; past it, calls are counted, not drawn. */
const MAX_GROUPS = 10000;
/** Addresses remembered per node (a workload's pods, a name's DNS answers), for tooltips and tests. */
const MAX_ADDRESSES = 256;

class Tally {
  calls = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();
  add(entry: Entry): void {
    this.calls += 1;
    if (isFailedCall(entry)) this.errors += 1;
    if (entry.elapsedMs !== null) this.latency.add(entry.elapsedMs);
  }
  mergeInto(edge: Edge): void {
    edge.calls += this.calls;
    edge.errors += this.errors;
    edge.latency.merge(this.latency);
  }
}

interface Group {
  /** src (or, for brokers, the client) and dst (the broker). */
  a: MapNode;
  b: MapNode;
  protocol: Entry['protocol'];
  /** Calls a -> b; for brokers, the producing and control calls. */
  forward: Tally;
  /** Brokers only: the consuming calls, drawn b -> a. */
  consume: Tally;
  produced: number;
}

export class EdgeTable {
  private readonly groups = new Map<string, Group>();
  private readonly addressesOf = new Map<string, Set<string>>();
  readonly names = new TrafficNames();
  /** Entries not drawn because MAX_GROUPS was reached. */
  overflow = 0;
  entries = 0;

  add(entry: Entry): void {
    this.entries += 1;
    this.names.learn(entry);
    const broker = isBrokerProtocol(entry.protocol);
    const ends = broker ? brokerEnds(entry) : { client: entry.src, broker: entry.dst };
    const a = nodeOf(ends.client);
    const b = nodeOf(ends.broker);
    const id = `${a.key}\u0000${b.key}\u0000${entry.protocol}`;
    let group = this.groups.get(id);
    if (!group) {
      if (this.groups.size >= MAX_GROUPS) {
        this.overflow += 1;
        return;
      }
      group = { a, b, protocol: entry.protocol, forward: new Tally(), consume: new Tally(), produced: 0 };
      this.groups.set(id, group);
    }
    this.remember(a.key, ends.client.ip);
    this.remember(b.key, ends.broker.ip);
    const role = broker ? brokerRole(entry) : 'control';
    if (role === 'consume') group.consume.add(entry);
    else group.forward.add(entry);
    if (role === 'produce') group.produced += 1;
  }

  /** The edges, with addresses named from DNS answers and TLS SNI where the cluster named nothing. */
  edges(): Edge[] {
    const merged = new Map<string, Edge>();
    const edge = (from: MapNode, to: MapNode, protocol: Entry['protocol']): Edge => {
      const id = `${from.key}\u0000${to.key}\u0000${protocol}`;
      let e = merged.get(id);
      if (!e) merged.set(id, (e = { from, to, protocol, calls: 0, errors: 0, latency: new LatencyHistogram() }));
      return e;
    };
    for (const g of this.groups.values()) {
      const a = this.named(g.a);
      const b = this.named(g.b);
      if (g.consume.calls > 0 && g.produced === 0) {
        // A consumer: all its calls, set-up included, on the broker -> consumer edge.
        const e = edge(b, a, g.protocol);
        g.forward.mergeInto(e);
        g.consume.mergeInto(e);
        continue;
      }
      if (g.forward.calls > 0) g.forward.mergeInto(edge(a, b, g.protocol));
      if (g.consume.calls > 0) g.consume.mergeInto(edge(b, a, g.protocol));
    }
    return [...merged.values()].sort((x, y) => y.calls - x.calls || x.from.key.localeCompare(y.from.key) || x.to.key.localeCompare(y.to.key) || x.protocol.localeCompare(y.protocol));
  }

  /** The addresses seen for a node of edges() (for a DNS-named one, those its name stood for). */
  addresses(node: MapNode): string[] {
    const found = new Set(this.addressesOf.get(node.key));
    if (node.kind === 'external') {
      for (const key of this.addressesOf.keys()) {
        const ip = addressOf(key);
        if (ip !== null && this.names.nameOf(ip) === node.label) found.add(ip);
      }
    }
    return [...found].sort();
  }

  private remember(key: string, ip: string): void {
    let set = this.addressesOf.get(key);
    if (!set) this.addressesOf.set(key, (set = new Set()));
    if (set.size < MAX_ADDRESSES) set.add(ip);
  }

  private named(node: MapNode): MapNode {
    const ip = addressOf(node.key);
    const name = ip === null ? undefined : this.names.nameOf(ip);
    return name === undefined ? node : externalNode(name);
  }
}
