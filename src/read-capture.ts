// `kubectl tap read`: a capture stream through the engine into a session's pipeline (filter,
// printer, aggregates, CI conditions; sink/session.ts). Entries are produced synchronously
// while a chunk of the file is parsed, and the JSONata expressions are asynchronous, so input
// is gated: the next chunk is read only once the entries of the previous one are handled (and
// the output has drained). That bounds memory and keeps entry order.
//
// When the session stops early (--limit, --wait-for, --fail-on, --duration, a signal), a
// regular file is still read to its end, frames no longer dissected, so that a truncated or
// corrupt capture is an error whatever matched before it; a pipe is closed at once.

import { readCaptureStream } from './capture/file-reader.js';
import { Engine } from './engine.js';
import type { Entry } from './entry.js';
import type { EngineOptions } from './protocols/types.js';
import { lossTotal } from './sink/losses.js';
import type { LineOutput } from './sink/output.js';
import type { TapSession } from './sink/session.js';

export interface ReadResult {
  frames: number;
  stats: Record<string, number>;
  /** The error that ended reading early (a truncated or corrupt capture); entries before it were handled. */
  failure?: unknown;
}

export async function readCapture(
  input: NodeJS.ReadableStream & { destroy?: () => void },
  options: EngineOptions,
  session: TapSession,
  output: LineOutput,
  opts: { verifyRest: boolean; strict: boolean },
): Promise<ReadResult> {
  const pipeline = session.pipeline;
  const pending: Array<[Entry, number]> = [];
  // --strict: the losses counted when each entry was made, so "the first event decides"
  // holds within a chunk too.
  const lossesNow = opts.strict ? () => lossTotal(engine.stats.entries()) : () => 0;
  // Without expressions to evaluate, an entry is handled the moment it is made: entries held
  // until the end of a chunk outlive V8's young generation, and promoting thousands of them
  // a chunk cost a third of the run in garbage collection.
  const engine: Engine = new Engine(
    options,
    pipeline.synchronous ? (entry) => void pipeline.offer(entry, lossesNow()) : (entry) => pending.push([entry, lossesNow()]),
  );

  if (session.pcapOut) {
    const pcap = session.pcapOut;
    engine.packetObserver = (packet, frame) => pcap.observe(packet, frame);
  }

  const drain = async (): Promise<void> => {
    while (pending.length > 0) {
      for (const [entry, losses] of pending.splice(0)) await pipeline.offer(entry, losses);
    }
    await output.flush();
  };

  let interrupted = false;
  session.onStop(() => {
    if (opts.verifyRest) return;
    interrupted = true;
    input.destroy?.();
  });

  // Pulled by the capture reader only once it has parsed the chunk before: so the entries
  // of each chunk are handled before the next is awaited (on a live pipe the next chunk may
  // be long in coming, and a --wait-for match must not wait for it).
  async function* gated(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      yield chunk;
      await drain();
      if (output.isClosed) return session.stop('outputClosed');
      if (pipeline.stopped && !opts.verifyRest) return;
    }
  }

  let failure: unknown;
  try {
    await readCaptureStream(gated(input as AsyncIterable<Buffer>) as unknown as NodeJS.ReadableStream, (frame) => {
      if (!pipeline.stopped) engine.handleFrame(frame);
    });
  } catch (err) {
    failure = err;
  }
  engine.finish();
  await drain();
  // Input stopped mid-file on purpose (the reader of our output went away, `| head`; or the
  // session ended on a pipe) looks cut short, which is not an error to report.
  const onPurpose = output.isClosed || interrupted || (pipeline.stopped && !opts.verifyRest);
  return { frames: engine.stats.get('engine.frames'), stats: engine.stats.toJSON(), failure: onPurpose ? undefined : failure };
}
