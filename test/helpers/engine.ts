// Runs a capture file through the whole engine (reader, decoder, reassembly, dissectors,
// entry making, redaction), the same path `kubectl tap read` takes, and collects entries.
import { createReadStream } from 'node:fs';
import { readCaptureStream } from '../../src/capture/file-reader.js';
import { Engine, engineOptions } from '../../src/engine.js';
import type { Entry } from '../../src/entry.js';
import type { EngineOptions } from '../../src/protocols/types.js';

export async function entriesFromCapture(
  path: string,
  options: Partial<EngineOptions> = {},
): Promise<{ entries: Entry[]; stats: Record<string, number> }> {
  const entries: Entry[] = [];
  const engine = new Engine(engineOptions(options), (entry) => entries.push(entry));
  await readCaptureStream(createReadStream(path, { highWaterMark: 1024 * 1024 }), (frame) => engine.handleFrame(frame));
  engine.finish();
  return { entries, stats: engine.stats.toJSON() };
}
