// The service map: the edges of the reported entries (edges.ts) as a graph to draw. Nodes
// are grouped by namespace; each edge is labelled with its protocol, calls, errors and
// p50/p99 latency, drawn wider the more calls it carries and coloured by its error rate.

import type { EdgeTable } from './edges.js';
import type { NodeKind } from './nodes.js';

export interface GraphNode {
  key: string;
  label: string;
  kind: NodeKind;
  namespace?: string;
  /** The addresses the node stood for in the entries (its pods', a name's DNS answers). */
  addresses: string[];
}

export interface GraphEdge {
  from: string;
  to: string;
  protocol: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  label: string;
  penwidth: number;
  colour: string;
}

export interface ServiceGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  calls: number;
}

/** Error-rate thresholds and their colours: none, under 1%, under 5%, 5% and more. */
const COLOURS: Array<[number, string]> = [
  [0, '#2e7d32'],
  [0.01, '#9e9d24'],
  [0.05, '#ef6c00'],
  [Infinity, '#c62828'],
];

export function serviceGraph(table: EdgeTable): ServiceGraph {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  let calls = 0;
  for (const e of table.edges()) {
    for (const n of [e.from, e.to]) {
      if (!nodes.has(n.key)) nodes.set(n.key, { key: n.key, label: n.label, kind: n.kind, namespace: n.namespace, addresses: table.addresses(n) });
    }
    const p50 = e.latency.quantile(0.5);
    const p99 = e.latency.quantile(0.99);
    calls += e.calls;
    edges.push({
      from: e.from.key,
      to: e.to.key,
      protocol: e.protocol,
      calls: e.calls,
      errors: e.errors,
      p50Ms: p50,
      p99Ms: p99,
      label: edgeLabel(e.protocol, e.calls, e.errors, p50, p99),
      penwidth: Math.min(8, 1 + 1.5 * Math.log10(e.calls)),
      colour: colourFor(e.errors / e.calls),
    });
  }
  return { nodes: [...nodes.values()].sort((a, b) => a.key.localeCompare(b.key)), edges, calls };
}

/** `grpc\n38 calls, 2 errors\np50 1.2 ms, p99 20 ms` */
export function edgeLabel(protocol: string, calls: number, errors: number, p50: number | null, p99: number | null): string {
  const counts = `${calls} ${calls === 1 ? 'call' : 'calls'}, ${errors} ${errors === 1 ? 'error' : 'errors'}`;
  const latency = p50 === null || p99 === null ? 'no latency' : `p50 ${ms(p50)}, p99 ${ms(p99)}`;
  return `${protocol}\n${counts}\n${latency}`;
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : Math.round(value)} ms`;
}

function colourFor(rate: number): string {
  return COLOURS.find(([limit]) => rate <= limit)![1];
}
