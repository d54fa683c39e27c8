// Recognises a TLS connection the capture joined after its handshake: no ClientHello, only
// records. Both directions must show a chain of well-formed record headers that accounts for
// every byte seen (records.ts); one side alone is not enough, since a single binary message
// of another protocol could pass for a record or two.

import type { Probe, Verdict } from '../types.js';
import { BOUNDARY_SCAN, findRecordBoundary, RECORD_HEADER } from './records.js';

export function detectTlsMidstream(probe: Probe): Verdict {
  const client = sideVerdict(probe.client);
  if (client === 'no') return 'no';
  const server = sideVerdict(probe.server);
  if (server === 'no') return 'no';
  return client === 'yes' && server === 'yes' ? 'yes' : 'more';
}

function sideVerdict(bytes: Buffer): Verdict {
  if (bytes.length < RECORD_HEADER) return 'more';
  if (findRecordBoundary(bytes) !== null) return 'yes';
  // Joined inside a large record, the next header may still come; past that, this is not TLS.
  return bytes.length <= BOUNDARY_SCAN ? 'more' : 'no';
}
