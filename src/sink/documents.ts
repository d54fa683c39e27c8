// The -o modes that print one document at the end of the session instead of a line per
// entry: dot (the service map), har, openapi (one document a line, one per service).

import type { Entry } from '../entry.js';
import { toDot } from './dot.js';
import type { EdgeTable } from './edges.js';
import type { DocumentMode } from './printers.js';
import { HarDocument } from './har.js';
import { OpenApiDocuments } from './openapi/document.js';
import { serviceGraph } from './service-map.js';
import pkg from '../../package.json' with { type: 'json' };

export interface EntryDocument {
  /** Takes the reported entries; absent for documents made from the shared edge table. */
  add?(entry: Entry): void;
  render(): string | Promise<string>;
}

export function documentFor(mode: DocumentMode, edges: EdgeTable): EntryDocument {
  switch (mode) {
    case 'dot':
      return { render: () => toDot(serviceGraph(edges)) };
    case 'har':
      return new HarDocument({ name: 'kubectl-tap', version: pkg.version });
    case 'openapi':
      return new OpenApiDocuments();
  }
}
