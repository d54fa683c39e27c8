// The table that finds a packet's TCP connection (tcp/assembler.ts) or UDP flow
// (protocols/udp-flows.ts) by its two endpoints, in either direction. Keyed by the port pair
// folded to a small integer, told apart by the addresses: a string key of the four-tuple cost
// every packet a fresh string to build and hash. Measured on the bench captures: the UDP
// lookup was 6.9% of the DNS run that way, and TcpAssembler.push 6.3% self on HTTP/1.1.

import type { Packet } from './decode/packet.js';

export interface TupleNode<T> {
  /** The endpoints the node was opened with; a packet matches them either way round. */
  readonly clientIp: string;
  readonly clientPort: number;
  readonly serverIp: string;
  readonly serverPort: number;
  /** Its key (portSlot of its ports), and the next node with the same key; the table sets both. */
  slot: number;
  samePorts: T | null;
}

/**
 * The table key of two ports, folded below 2^30 so it is a small integer (a Smi) however V8
 * was built: V8 compares such a key in place. Nodes whose ports fold alike are chained.
 */
export function portSlot(a: number, b: number): number {
  const low = a < b ? a : b;
  const high = a < b ? b : a;
  return high * 0x4000 + (low & 0x3fff);
}

export class TupleTable<T extends TupleNode<T>> {
  /** The first node of each slot's chain. */
  private readonly heads = new Map<number, T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The node of a packet, sent by either of its endpoints; null: none. */
  find(p: Packet): T | null {
    for (let n = this.heads.get(portSlot(p.srcPort, p.dstPort)) ?? null; n !== null; n = n.samePorts) {
      const sent = n.clientPort === p.srcPort && n.serverPort === p.dstPort && n.clientIp === p.srcIp && n.serverIp === p.dstIp;
      if (sent || (n.clientPort === p.dstPort && n.serverPort === p.srcPort && n.clientIp === p.dstIp && n.serverIp === p.srcIp)) return n;
    }
    return null;
  }

  insert(node: T): void {
    node.slot = portSlot(node.clientPort, node.serverPort);
    node.samePorts = this.heads.get(node.slot) ?? null;
    this.heads.set(node.slot, node);
    this.count++;
  }

  /** Takes out a node that is in the table. */
  remove(node: T): void {
    const first = this.heads.get(node.slot)!;
    if (first === node) {
      if (node.samePorts === null) this.heads.delete(node.slot);
      else this.heads.set(node.slot, node.samePorts);
    } else {
      let before = first;
      while (before.samePorts !== node) before = before.samePorts!;
      before.samePorts = node.samePorts;
    }
    node.samePorts = null;
    this.count--;
  }
}
