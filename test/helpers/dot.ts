// Reads a service map back with a real DOT parser (@ts-graphviz/ast): nodes with their
// attributes and namespace cluster, edges with theirs. Labels keep DOT's \n line breaks as
// real newlines.
import { parse } from '@ts-graphviz/ast';

export interface DotNode {
  id: string;
  attrs: Record<string, string>;
  cluster: string | null;
}

export interface DotEdge {
  from: string;
  to: string;
  attrs: Record<string, string>;
}

interface AstNode {
  type: string;
  kind?: string;
  id?: { value: string };
  key?: { value: string };
  value?: { value: string };
  targets?: Array<{ id: { value: string } }>;
  children: AstNode[];
}

export function parseDot(text: string): { nodes: DotNode[]; edges: DotEdge[] } {
  const ast = parse(text) as unknown as AstNode;
  const nodes: DotNode[] = [];
  const edges: DotEdge[] = [];
  const attrsOf = (n: AstNode) =>
    Object.fromEntries(n.children.filter((c) => c.type === 'Attribute').map((c) => [c.key!.value, c.value!.value.replace(/\\n/g, '\n')]));
  const walk = (n: AstNode, cluster: string | null) => {
    for (const child of n.children) {
      if (child.type === 'Graph') walk(child, null);
      else if (child.type === 'Subgraph') walk(child, child.id?.value.replace(/^cluster_/, '') ?? null);
      else if (child.type === 'Node') nodes.push({ id: child.id!.value, attrs: attrsOf(child), cluster });
      else if (child.type === 'Edge') edges.push({ from: child.targets![0].id.value, to: child.targets![1].id.value, attrs: attrsOf(child) });
    }
  };
  walk(ast, null);
  return { nodes, edges };
}

/** `grpc\n38 calls, 2 errors\np50 1.2 ms, p99 20 ms` -> its parts. */
export function edgeLabel(label: string): { protocol: string; calls: number; errors: number; p50: number | null; p99: number | null } {
  const m = /^(\w+)\n(\d+) calls?, (\d+) errors?\n(?:p50 ([\d.]+) ms, p99 ([\d.]+) ms|no latency)$/.exec(label);
  if (!m) throw new Error(`not an edge label: ${JSON.stringify(label)}`);
  return { protocol: m[1]!, calls: Number(m[2]), errors: Number(m[3]), p50: m[4] === undefined ? null : Number(m[4]), p99: m[5] === undefined ? null : Number(m[5]) };
}
