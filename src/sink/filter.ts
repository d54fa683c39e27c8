// --filter: a JSONata expression over each entry, compiled once. The filter keeps an entry
// when the expression is truthy (JSONata's boolean cast: non-empty strings, non-zero
// numbers, non-empty arrays). An expression that fails at run time on some entry (a type
// error, say) drops that entry and is counted, rather than stopping the stream.

import jsonata from 'jsonata';
import type { Entry } from '../entry.js';
import { UsageError } from '../errors.js';
import type { Stats } from '../stats.js';

export interface EntryFilter {
  readonly source: string;
  matches(entry: Entry): Promise<boolean>;
}

/** `flag` names the option in error messages: --filter, --wait-for, --fail-on. */
export function compileFilter(source: string, stats: Stats, flag = '--filter'): EntryFilter {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source);
  } catch (err) {
    throw new UsageError(describeSyntaxError(source, err, flag));
  }
  return {
    source,
    async matches(entry) {
      try {
        return truthy(await expression.evaluate(entry));
      } catch {
        stats.add('filter.evaluationErrors');
        return false;
      }
    },
  };
}

function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.some(truthy);
  return true;
}

function describeSyntaxError(source: string, err: unknown, flag: string): string {
  const e = err as { message?: string; position?: number; token?: string };
  const position = typeof e.position === 'number' ? e.position : undefined;
  const where = position === undefined ? '' : ` at position ${position}`;
  const pointer = position === undefined ? '' : ` (near "${source.slice(Math.max(0, position - 10), position + 10)}")`;
  return `invalid ${flag}${where}: ${e.message ?? String(err)}${pointer}`;
}
