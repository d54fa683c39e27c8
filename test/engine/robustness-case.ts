// Runs one mutated case through the whole engine the way `kubectl tap read` does (the
// streaming file reader, then Engine.handleFrame for every frame, then finish) and judges
// the outcome. Allowed: entries, or a CaptureFormatError from the reader. Failures: any
// other exception, an entry that breaks docs/entry.schema.json or cannot be serialised as
// JSON, a counter that is not a finite count, and any counter that says an exception was
// caught inside the engine: a dissector or detector that threw (the engine survives those
// by design, so without this check a dissector broken on every input would pass).

import { Readable } from 'node:stream';
import { readCaptureStream } from '../../src/capture/file-reader.js';
import { Engine, engineOptions } from '../../src/engine.js';
import type { Entry } from '../../src/entry.js';
import { CaptureFormatError } from '../../src/errors.js';
import { caughtExceptions } from '../helpers/caught-exceptions.js';
import { assertValidEntries } from '../helpers/schema.js';

export type FailureKind = 'exception' | 'caught-exception' | 'schema' | 'json' | 'stats' | 'timeout' | 'worker-crash' | 'harness';


export interface CaseResult {
  entries: number;
  /** Frames the engine was handed. */
  frames: number;
  protocols: string[];
  captureFormatError: boolean;
  failure?: { kind: FailureKind; message: string; stack?: string };
}

export async function runCase(chunks: readonly Buffer[]): Promise<CaseResult> {
  const entries: Entry[] = [];
  const result: CaseResult = { entries: 0, frames: 0, protocols: [], captureFormatError: false };
  let engine: Engine | undefined;
  try {
    engine = new Engine(engineOptions(), (entry) => entries.push(entry));
    const running = engine;
    await readCaptureStream(Readable.from(chunks, { objectMode: true }), (frame) => running.handleFrame(frame));
  } catch (error) {
    if (error instanceof CaptureFormatError) result.captureFormatError = true;
    else return fail(result, 'exception', error);
  }
  try {
    // A corrupt file still ends the capture: the engine flushes what it has, as `read` does.
    engine?.finish();
  } catch (error) {
    return fail(result, 'exception', error);
  }
  const stats = engine!.stats.toJSON();
  result.frames = stats['engine.frames'] ?? 0;
  result.entries = entries.length;
  result.protocols = [...new Set(entries.map((e) => e.protocol))].sort();
  for (const [name, value] of Object.entries(stats)) {
    if (!Number.isSafeInteger(value) || value < 0) return fail(result, 'stats', new Error(`counter ${name} = ${value}`));
  }
  const caught = caughtExceptions(stats);
  if (caught.length > 0) return fail(result, 'caught-exception', new Error(`the engine caught exceptions: ${caught.join(' ')}`));
  try {
    assertValidEntries(entries);
  } catch (error) {
    return fail(result, 'schema', error);
  }
  for (const entry of entries) {
    try {
      JSON.stringify(entry);
    } catch (error) {
      return fail(result, 'json', error);
    }
  }
  return result;
}

function fail(result: CaseResult, kind: FailureKind, error: unknown): CaseResult {
  const err = error instanceof Error ? error : new Error(String(error));
  result.failure = { kind, message: `${err.name}: ${err.message}`.slice(0, 2000), stack: err.stack?.slice(0, 4000) };
  return result;
}
