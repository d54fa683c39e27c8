// Label selectors (the string form of ?labelSelector= and the structured LabelSelector of
// specs) and field selectors (?fieldSelector=), with the operators the real server accepts.
import { errors } from './status.js';

type Requirement = { key: string; op: 'in' | 'notin' | 'exists' | '!exists' | '=' | '!='; values: string[] };

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

export function parseLabelSelector(s: string): Requirement[] {
  return splitTop(s).map((part) => {
    let m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) return { key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()).filter(Boolean) };
    m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m) return { key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] };
    m = /^!\s*([^\s!=]+)$/.exec(part);
    if (m) return { key: m[1]!, op: '!exists', values: [] };
    m = /^([^\s!=()]+)$/.exec(part);
    if (m) return { key: m[1]!, op: 'exists', values: [] };
    throw errors.badRequest(`unable to parse requirement: ${part}`);
  });
}

function matchRequirement(labels: Record<string, string>, r: Requirement): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case '=': return has && v === r.values[0];
    case '!=': return !has || v !== r.values[0];
    case 'in': return has && r.values.includes(v!);
    case 'notin': return !has || !r.values.includes(v!);
    case 'exists': return has;
    case '!exists': return !has;
  }
}

export function matchLabelString(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return parseLabelSelector(selector).every((r) => matchRequirement(labels ?? {}, r));
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A structured selector; an empty selector matches everything (as for a DaemonSet's nodes). */
export function matchLabelSelector(labels: Record<string, string> | undefined, sel: LabelSelector | undefined): boolean {
  const l = labels ?? {};
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' } as const)[e.operator as 'In'];
    if (!op || !matchRequirement(l, { key: e.key, op, values: e.values ?? [] })) return false;
  }
  return true;
}

/** service.spec.selector (a plain map): an empty map selects nothing, as for Services. */
export function matchMap(labels: Record<string, string> | undefined, sel: Record<string, string> | undefined): boolean {
  if (!sel || Object.keys(sel).length === 0) return false;
  return Object.entries(sel).every(([k, v]) => labels?.[k] === v);
}

function fieldValue(obj: unknown, path: string): string {
  let cur: any = obj;
  for (const part of path.split('.')) cur = cur?.[part];
  if (cur === undefined || cur === null) return '';
  return String(cur);
}

export function matchFieldString(obj: unknown, selector: string | undefined): boolean {
  if (!selector) return true;
  for (const part of selector.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw errors.badRequest(`invalid field selector: ${part}`);
    const v = fieldValue(obj, m[1]!);
    if (m[2] === '!=' ? v === m[3] : v !== m[3]) return false;
  }
  return true;
}
