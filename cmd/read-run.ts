// The read command's body, loaded only when `read` runs (keeps --help fast).
import { createReadStream, fstatSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { engineOptions } from '../src/engine.js';
import { UsageError } from '../src/errors.js';
import { MIN_MEMORY_BUDGET } from '../src/memory/budget.js';
import { readCapture } from '../src/read-capture.js';
import { DEFAULT_REDACTED_HEADERS } from '../src/redact.js';
import { LineOutput } from '../src/sink/output.js';
import { TapSession, type SessionSpec } from '../src/sink/session.js';
import { exitCodeOf } from './exit.js';

/**
 * Input is read in chunks of this size, and output drains between chunks: entries can be ten
 * times larger than the packets they came from (gRPC), so a smaller chunk bounds the output
 * waiting on a slow reader (a pipe) to a few MB.
 */
const INPUT_CHUNK_BYTES = 256 * 1024;

export interface ReadRequest {
  file: string;
  session: SessionSpec;
  maxBody: number;
  maxMessages: number;
  memoryBudget: number;
  redact: boolean;
  redactHeaders: string[];
  protoPaths: string[];
}

/** Runs the session and returns its exit code; an error (exit 1 or 2) is thrown. */
export async function runRead(req: ReadRequest): Promise<number> {
  // Everything that can be wrong with the flags fails before any input is read.
  const output = new LineOutput(process.stdout);
  const session = new TapSession(req.session, output);
  if (!Number.isInteger(req.maxMessages) || req.maxMessages < 1) throw new UsageError('--max-messages must be a positive integer');
  if (req.memoryBudget < MIN_MEMORY_BUDGET) throw new UsageError(`--memory-budget must be at least ${MIN_MEMORY_BUDGET / 1024 / 1024}MiB`);
  if (req.protoPaths.length > 0) {
    const { loadProtos } = await import('../src/protocols/grpc/protos.js');
    loadProtos(req.protoPaths); // cached: the engine's gRPC decoder gets the same index
  }
  if (req.file !== '-') {
    await access(req.file).catch(() => {
      throw new UsageError(`${req.file}: no such file`);
    });
  }

  const options = engineOptions({
    maxBody: req.maxBody,
    maxMessages: req.maxMessages,
    redact: req.redact,
    redactHeaders: new Set([...DEFAULT_REDACTED_HEADERS, ...req.redactHeaders.map((h) => h.toLowerCase())]),
    protoPaths: req.protoPaths,
    memoryBudget: req.memoryBudget,
  });
  const input = req.file === '-' ? process.stdin : createReadStream(req.file, { highWaterMark: INPUT_CHUNK_BYTES });
  // A regular file (also as `read - < file`) is read to its end even when the session stops
  // early, so that a truncated capture is always an error; a pipe is live and is let go.
  const regularFile = req.file !== '-' || fstatSync(0).isFile();
  session.start();
  const result = await readCapture(input, options, session, output, { verifyRest: regularFile, strict: req.session.strict });
  const { outcome } = await session.close({ frames: result.frames, stats: result.stats }, exitCodeOf, result.failure);
  if (result.failure !== undefined) throw result.failure;
  return exitCodeOf(outcome);
}
