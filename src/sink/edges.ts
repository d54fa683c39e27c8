// The caller -> callee edges of a set of entries, one per protocol (gRPC is never folded into
// HTTP): calls, failed calls (call-status.ts) and latency. The service map draws them and the
// run summary lists them, so both always say the same.
//
// Direction: from the entry's src to its dst, except for the brokers (broker-roles.ts): a
// client that only consumes is drawn broker -> client with all its calls; one that produces
// (and maybe controls) client -> broker; one that does both gets both edges, its consumer
// calls on the broker -> client one. So every entry lands on exactly one edge, and the calls
// of all edges add up to the entries.

import type { Endpoint, Entry } from '../entry.js';
import { brokerRole, brokerSender, isBrokerProtocol, type BrokerRole } from './broker-roles.js';
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
  mergeInto(target: { calls: number; errors: number; latency: LatencyHistogram }): void {
    target.calls += this.calls;
    target.errors += this.errors;
    target.latency.merge(this.latency);
  }
}

/** The calls between a client (or caller) `a` and a broker (or callee) `b`. */
interface Group {
  a: MapNode;
  b: MapNode;
  protocol: Entry['protocol'];
  tallies: Map<BrokerRole, Tally>;
}

/** AMQP calls either end may make (a channel.close), tallied by connection until we know which end is the broker. */
interface Undecided {
  src: MapNode;
  dst: MapNode;
  srcEndpoint: string;
  role: BrokerRole;
  tally: Tally;
}

const endpointId = (e: Endpoint) => `${e.ip}|${e.port}`;

export class EdgeTable {
  private readonly groups = new Map<string, Group>();
  private readonly undecided = new Map<string, Undecided>();
  /** ip|port of every broker end seen (the dst of a client's call, the src of a broker's). */
  private readonly brokerEndpoints = new Set<string>();
  private readonly addressesOf = new Map<string, Set<string>>();
  readonly names = new TrafficNames();
  /** Entries not drawn because MAX_GROUPS was reached. */
  overflow = 0;
  entries = 0;

  add(entry: Entry): void {
    this.entries += 1;
    this.names.learn(entry);
    const src = nodeOf(entry.src);
    const dst = nodeOf(entry.dst);
    this.remember(src.key, entry.src.ip);
    this.remember(dst.key, entry.dst.ip);
    if (!isBrokerProtocol(entry.protocol)) return this.tally(src, dst, entry.protocol, 'control', entry);
    const role = brokerRole(entry);
    const sender = brokerSender(entry);
    if (sender === 'client') {
      this.learnBroker(entry.dst);
      return this.tally(src, dst, entry.protocol, role, entry);
    }
    if (sender === 'broker') {
      this.learnBroker(entry.src);
      return this.tally(dst, src, entry.protocol, role, entry);
    }
    const id = `${endpointId(entry.src)}\u0000${endpointId(entry.dst)}\u0000${entry.protocol}\u0000${role}`;
    let u = this.undecided.get(id);
    if (!u) {
      if (this.undecided.size >= MAX_GROUPS) return void (this.overflow += 1);
      this.undecided.set(id, (u = { src, dst, srcEndpoint: endpointId(entry.src), role, tally: new Tally() }));
    }
    u.tally.add(entry);
  }

  /** The edges, with addresses named from DNS answers and TLS SNI where the cluster named nothing. */
  edges(): Edge[] {
    // Calls whose sender was ambiguous join their group now that the broker ends are known
    // (into copies: the table keeps taking entries between renders).
    const groups = new Map<string, Group>();
    for (const [id, g] of this.groups) groups.set(id, { ...g, tallies: copyTallies(g.tallies) });
    for (const u of this.undecided.values()) {
      const fromBroker = this.brokerEndpoints.has(u.srcEndpoint);
      const [a, b] = fromBroker ? [u.dst, u.src] : [u.src, u.dst];
      const id = groupId(a, b, 'amqp');
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { a, b, protocol: 'amqp', tallies: new Map() }));
      u.tally.mergeInto(tallyOf(g, u.role));
    }

    const merged = new Map<string, Edge>();
    const edge = (from: MapNode, to: MapNode, protocol: Entry['protocol']): Edge => {
      const id = groupId(from, to, protocol);
      let e = merged.get(id);
      if (!e) merged.set(id, (e = { from, to, protocol, calls: 0, errors: 0, latency: new LatencyHistogram() }));
      return e;
    };
    for (const g of groups.values()) {
      const a = this.named(g.a);
      const b = this.named(g.b);
      const consume = g.tallies.get('consume');
      const produce = g.tallies.get('produce');
      const control = g.tallies.get('control');
      if (consume && !produce) {
        // A consumer: all its calls, set-up included, on the broker -> consumer edge.
        const e = edge(b, a, g.protocol);
        consume.mergeInto(e);
        control?.mergeInto(e);
        continue;
      }
      if (produce) produce.mergeInto(edge(a, b, g.protocol));
      if (control) control.mergeInto(edge(a, b, g.protocol));
      if (consume) consume.mergeInto(edge(b, a, g.protocol));
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

  private tally(a: MapNode, b: MapNode, protocol: Entry['protocol'], role: BrokerRole, entry: Entry): void {
    const id = groupId(a, b, protocol);
    let g = this.groups.get(id);
    if (!g) {
      if (this.groups.size >= MAX_GROUPS) return void (this.overflow += 1);
      this.groups.set(id, (g = { a, b, protocol, tallies: new Map() }));
    }
    tallyOf(g, role).add(entry);
  }

  private learnBroker(e: Endpoint): void {
    if (this.brokerEndpoints.size < MAX_GROUPS) this.brokerEndpoints.add(endpointId(e));
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

function groupId(a: MapNode, b: MapNode, protocol: string): string {
  return `${a.key}\u0000${b.key}\u0000${protocol}`;
}

function tallyOf(g: Group, role: BrokerRole): Tally {
  let t = g.tallies.get(role);
  if (!t) g.tallies.set(role, (t = new Tally()));
  return t;
}

function copyTallies(tallies: Map<BrokerRole, Tally>): Map<BrokerRole, Tally> {
  const copy = new Map<BrokerRole, Tally>();
  for (const [role, t] of tallies) {
    const c = new Tally();
    t.mergeInto(c);
    copy.set(role, c);
  }
  return copy;
}
