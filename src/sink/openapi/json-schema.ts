// JSON Schema (2020-12, OpenAPI 3.1's dialect) inferred from observed JSON values and
// merged across calls: a property is required when every observed object had it; an array's
// items merge all its elements; values of different types give a `type` list (or anyOf for
// objects and arrays beside other types). Bounded in depth and width so a huge or hostile
// body cannot grow the schema without end.

export type Schema = Record<string, unknown>;

const MAX_DEPTH = 8;
const MAX_PROPERTIES = 100;

interface Node {
  types: Set<string>;
  /** object */
  properties?: Map<string, Node>;
  seen: number;
  present?: Map<string, number>;
  /** array */
  items?: Node;
  /** string formats seen (all values must agree for the format to be kept) */
  format?: string | null;
}

export class SchemaBuilder {
  private root: Node | null = null;

  add(value: unknown): void {
    this.root = merge(this.root, value, 0);
  }

  get empty(): boolean {
    return this.root === null;
  }

  schema(): Schema {
    return this.root === null ? {} : emit(this.root);
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value; // string, boolean, object
}

function formatOf(s: string): string | null {
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s)) return 'date-time';
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) return 'uuid';
  if (/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(s)) return 'email';
  return null;
}

function merge(node: Node | null, value: unknown, depth: number): Node {
  const n: Node = node ?? { types: new Set(), seen: 0 };
  const type = typeOf(value);
  n.types.add(type);
  if (depth >= MAX_DEPTH) return n;
  if (type === 'object') {
    n.properties ??= new Map();
    n.present ??= new Map();
    n.seen += 1;
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (!n.properties.has(key) && n.properties.size >= MAX_PROPERTIES) continue;
      n.properties.set(key, merge(n.properties.get(key) ?? null, v, depth + 1));
      n.present.set(key, (n.present.get(key) ?? 0) + 1);
    }
  } else if (type === 'array') {
    for (const v of value as unknown[]) n.items = merge(n.items ?? null, v, depth + 1);
  } else if (type === 'string') {
    const f = formatOf(value as string);
    n.format = n.format === undefined ? f : n.format === f ? f : null;
  }
  return n;
}

function emit(n: Node): Schema {
  const types = [...n.types];
  // An integer beside a number is a number.
  if (n.types.has('integer') && n.types.has('number')) types.splice(types.indexOf('integer'), 1);
  const simple = types.filter((t) => t !== 'object' && t !== 'array');
  const parts: Schema[] = [];
  if (n.types.has('object')) {
    const properties = Object.fromEntries([...(n.properties ?? [])].map(([k, v]) => [k, emit(v)]));
    const required = [...(n.present ?? [])].filter(([, count]) => count === n.seen).map(([k]) => k);
    parts.push({ type: 'object', properties, ...(required.length > 0 ? { required } : {}) });
  }
  if (n.types.has('array')) parts.push({ type: 'array', items: n.items ? emit(n.items) : {} });
  if (simple.length > 0) {
    const s: Schema = { type: simple.length === 1 ? simple[0] : simple };
    if (simple.length === 1 && simple[0] === 'string' && n.format) s.format = n.format;
    parts.push(s);
  }
  return parts.length === 1 ? parts[0]! : { anyOf: parts };
}
