// The service map as Graphviz DOT: one cluster per namespace, nodes shaped by kind, node ids
// are the stable node keys (so two renders of the same traffic diff cleanly), and each
// node's tooltip lists the addresses it stands for.

import type { GraphNode, ServiceGraph } from './service-map.js';

const SHAPES: Record<GraphNode['kind'], string> = {
  workload: 'box',
  pod: 'box',
  service: 'ellipse',
  node: 'box3d',
  external: 'cds',
  ip: 'ellipse',
};

export function toDot(graph: ServiceGraph): string {
  const out: string[] = [];
  out.push('digraph "service map" {');
  out.push(`  graph [rankdir=LR, fontname="Helvetica", labelloc=t, label=${quote(`kubectl tap service map: ${graph.calls} calls`)}];`);
  out.push('  node [fontname="Helvetica", fontsize=11, style="rounded,filled", fillcolor="#eef3f8", color="#4a6785"];');
  out.push('  edge [fontname="Helvetica", fontsize=9];');
  const byNamespace = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) {
    const ns = node.namespace ?? '';
    if (!byNamespace.has(ns)) byNamespace.set(ns, []);
    byNamespace.get(ns)!.push(node);
  }
  for (const [ns, nodes] of [...byNamespace].sort(([a], [b]) => a.localeCompare(b))) {
    const indent = ns === '' ? '  ' : '    ';
    if (ns !== '') out.push(`  subgraph ${quote(`cluster_${ns}`)} {`, `    label=${quote(ns)}; style="rounded"; color="#9aa5b1";`);
    for (const n of nodes) {
      const style = n.kind === 'pod' ? ', style="rounded,filled,dashed"' : n.kind === 'external' || n.kind === 'ip' ? ', fillcolor="#fdf6e3"' : '';
      out.push(`${indent}${quote(n.key)} [label=${quote(n.label)}, shape=${SHAPES[n.kind]}${style}, tooltip=${quote(n.addresses.join(', ') || n.label)}];`);
    }
    if (ns !== '') out.push('  }');
  }
  for (const e of graph.edges) {
    out.push(`  ${quote(e.from)} -> ${quote(e.to)} [label=${quote(e.label)}, penwidth=${e.penwidth.toFixed(2)}, color=${quote(e.colour)}, fontcolor=${quote(e.colour)}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

/** A DOT double-quoted string: quotes and backslashes escaped, newlines as DOT's \n. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
