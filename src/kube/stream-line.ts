// One line of a tapper's NDJSON stream (/entries or /packets, docs/tapper-api.md): a record,
// or a marker, or something that is not JSON. Both fan-ins count the same way.

export interface StreamLineFigures {
  malformedLines: number;
  /** What the tapper said it dropped for this stream (its `dropped` markers). */
  dropped: number;
}

/** The record on the line; null for a marker (a `dropped` one counted) or a malformed line (counted). */
export function parseStreamLine(line: string, figures: StreamLineFigures): Record<string, unknown> | null {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line);
  } catch {
    figures.malformedLines += 1;
    return null;
  }
  if (typeof obj.marker === 'string') {
    if (obj.marker === 'dropped' && typeof obj.count === 'number') figures.dropped += obj.count;
    return null;
  }
  return obj;
}
