// The PATCH flavours kubectl and client libraries send: JSON Patch (RFC 6902), JSON Merge
// Patch (RFC 7386), strategic merge patch (approximated: lists of objects with a `name`
// merge by name, other lists replace, `$`-directives honoured for delete and otherwise
// dropped), and server-side apply (treated as a strategic merge of the applied object).
import { errors } from './status.js';

type Json = any;

export function mergePatch(target: Json, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Json = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function isNamedList(list: unknown): list is Record<string, any>[] {
  return Array.isArray(list) && list.length > 0 && list.every((x) => x && typeof x === 'object' && typeof x.name === 'string');
}

export function strategicMerge(target: Json, patch: Json): Json {
  if (Array.isArray(patch)) {
    if (isNamedList(patch) && Array.isArray(target)) {
      const out: Json[] = target.map((x) => x);
      for (const item of patch) {
        const i = out.findIndex((x) => x?.name === item.name);
        if (item.$patch === 'delete') {
          if (i >= 0) out.splice(i, 1);
        } else if (i >= 0) out[i] = strategicMerge(out[i], item);
        else out.push(strategicMerge(undefined, item));
      }
      return out;
    }
    return patch.map((x) => strategicMerge(undefined, x));
  }
  if (patch === null || typeof patch !== 'object') return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return strategicMerge(undefined, rest);
  }
  const out: Json = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = strategicMerge(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw errors.badRequest(`invalid JSON pointer ${path}`);
  return path.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, parts: string[]): [Json, string] {
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : cur?.[p];
    if (cur === undefined || cur === null) throw errors.invalid('Patch', '', '', [{ field: parts.join('/'), message: 'doc is missing path' }]);
  }
  return [cur, parts[parts.length - 1]!];
}

export function jsonPatch(doc: Json, ops: Json[]): Json {
  if (!Array.isArray(ops)) throw errors.badRequest('json patch must be an array');
  let out = structuredClone(doc);
  for (const op of ops) {
    const parts = pointer(op.path ?? '');
    const get = (ps: string[]) => ps.reduce((c: Json, p) => (Array.isArray(c) ? c[Number(p)] : c?.[p]), out);
    const put = (ps: string[], value: Json, insert: boolean) => {
      if (ps.length === 0) {
        out = value;
        return;
      }
      const [parent, last] = parentOf(out, ps);
      if (Array.isArray(parent)) {
        const i = last === '-' ? parent.length : Number(last);
        if (insert) parent.splice(i, 0, value);
        else parent[i] = value;
      } else parent[last] = value;
    };
    const del = (ps: string[]) => {
      const [parent, last] = parentOf(out, ps);
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    };
    switch (op.op) {
      case 'add': put(parts, structuredClone(op.value), true); break;
      case 'replace': put(parts, structuredClone(op.value), false); break;
      case 'remove': del(parts); break;
      case 'test':
        if (JSON.stringify(get(parts)) !== JSON.stringify(op.value)) throw errors.invalid('Patch', '', '', [{ field: op.path, message: 'test operation failed' }]);
        break;
      case 'copy': put(parts, structuredClone(get(pointer(op.from))), true); break;
      case 'move': {
        const v = get(pointer(op.from));
        del(pointer(op.from));
        put(parts, v, true);
        break;
      }
      default: throw errors.badRequest(`unknown json patch op ${op.op}`);
    }
  }
  return out;
}
