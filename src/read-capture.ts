// `kubectl tap read`: a capture stream through the engine, the filter and a printer.
// Entries are produced synchronously while a chunk of the file is parsed, and the JSONata
// filter is asynchronous, so input is gated: the next chunk is read only once the entries of
// the previous one are filtered and written (and the output has drained). That bounds
// memory and keeps entry order.
// On a truncated or corrupt file, the entries found so far are written before the error.
// When writing the output fails, reading stops and that failure (an OutputError) is what is
// reported, never a capture error that stopping early may look like.

import { Readable } from 'node:stream';
import { readCaptureStream } from './capture/file-reader.js';
import { Engine } from './engine.js';
import type { Entry } from './entry.js';
import type { EngineOptions } from './protocols/types.js';
import type { EntryFilter } from './sink/filter.js';
import type { LineOutput } from './sink/output.js';
import type { Printer } from './sink/printers.js';

export interface ReadResult {
  frames: number;
  entries: number;
  written: number;
  stats: Record<string, number>;
  /** The memory budget's figures (bytes): what the engine may hold, and the most it held. */
  memory: { limit: number; peak: number };
}

export async function readCapture(
  input: NodeJS.ReadableStream,
  options: EngineOptions,
  sink: { output: LineOutput; printer: Printer; filter?: EntryFilter },
): Promise<ReadResult> {
  const pending: Entry[] = [];
  let entries = 0;
  let written = 0;
  // Without a filter, an entry is printed the moment it is made: entries held until the end
  // of a chunk outlive V8's young generation, and promoting thousands of them a chunk cost
  // a third of the run in garbage collection.
  const printNow = (entry: Entry) => {
    entries += 1;
    written += 1;
    sink.output.writeLine(sink.printer(entry));
  };
  const engine = new Engine(options, sink.filter ? (entry) => pending.push(entry) : printNow);

  const drain = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending.splice(0);
      entries += batch.length;
      for (const entry of batch) {
        if (sink.filter && !(await sink.filter.matches(entry))) continue;
        sink.output.writeLine(sink.printer(entry));
        written += 1;
      }
    }
    await sink.output.flush();
  };

  async function* gated(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      await drain();
      if (sink.output.isClosed) return;
      yield chunk;
    }
  }

  let failure: unknown = null;
  try {
    const source = Readable.from(gated(input as AsyncIterable<Buffer>), { highWaterMark: 1 });
    await readCaptureStream(source, (frame) => engine.handleFrame(frame), engine.stats);
  } catch (err) {
    failure = err;
  }
  if (sink.output.failed) await sink.output.flush(); // throws the OutputError
  engine.finish();
  await drain();
  // Once the reader of our output has gone (`| head`), input stops mid-file on purpose: the
  // capture then looks cut short, which is not an error to report.
  if (failure && !sink.output.isClosed) throw failure;
  const memory = { limit: engine.memory.limit, peak: engine.memory.peak };
  return { frames: engine.stats.get('engine.frames'), entries, written, stats: engine.stats.toJSON(), memory };
}
