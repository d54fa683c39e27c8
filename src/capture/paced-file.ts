// A capture file played as if it were live (the tapper's --file, for tests, demos and
// benchmarks): at its recorded pace (frame n is delivered when as much wall time has passed
// since the first frame as capture time did) or as fast as possible. Either way the event
// loop gets a turn between chunks, so the daemon goes on serving while a file plays.

import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { readCaptureStream, type ReadResult } from './file-reader.js';
import type { Frame } from './frame.js';

export type Pace = 'recorded' | 'fast';

/** Small chunks: a recorded-pace file holds at most one chunk's frames (copied) in memory. */
const CHUNK_BYTES = 64 * 1024;

export async function playCaptureFile(
  path: string,
  pace: Pace,
  onFrame: (frame: Frame) => void,
  stopped: () => boolean = () => false,
): Promise<ReadResult> {
  // Frames of the current chunk, copied (the reader reuses its frame), waiting for their time.
  const due: Frame[] = [];
  let firstTs = Number.NaN;
  let startMs = 0;

  const collect = (frame: Frame) => {
    if (pace === 'fast') {
      onFrame(frame);
      return;
    }
    due.push({ ...frame, data: Buffer.from(frame.data) });
  };

  const release = async () => {
    for (const frame of due.splice(0)) {
      if (stopped()) return;
      if (Number.isNaN(firstTs)) {
        firstTs = frame.tsMicros;
        startMs = performance.now();
      }
      const wait = startMs + (frame.tsMicros - firstTs) / 1000 - performance.now();
      if (wait > 1) await sleep(wait);
      onFrame(frame);
    }
  };

  async function* gated(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      await release();
      await nextTurn();
      if (stopped()) return;
      yield chunk;
    }
  }

  const input = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  try {
    const result = await readCaptureStream(Readable.from(gated(input), { highWaterMark: 1 }), collect);
    await release();
    return result;
  } finally {
    input.destroy();
  }
}
