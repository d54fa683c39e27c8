// The -o modes that print one document at the end of the session instead of a line per
// entry: dot (the service map), har, openapi.

import type { Entry } from '../entry.js';
import { toDot } from './dot.js';
import type { EdgeTable } from './edges.js';
import type { DocumentMode } from './printers.js';
import { serviceGraph } from './service-map.js';

export interface EntryDocument {
  /** Takes the reported entries; absent for documents made from the shared edge table. */
  add?(entry: Entry): void;
  render(): string | Promise<string>;
}

export function documentFor(mode: DocumentMode, edges: EdgeTable): EntryDocument {
  switch (mode) {
    case 'dot':
      return { render: () => toDot(serviceGraph(edges)) };
  }
}
