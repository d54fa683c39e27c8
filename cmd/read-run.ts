// The read command's body, loaded only when `read` runs (keeps --help fast).
import { constants, createReadStream, fstatSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { engineOptions } from '../src/engine.js';
import { CaptureFormatError, UsageError } from '../src/errors.js';
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
  if (req.file !== '-') await checkInputFile(req.file);

  const options = engineOptions({
    maxBody: req.maxBody,
    maxMessages: req.maxMessages,
    memoryBudget: req.memoryBudget,
    redact: req.redact,
    redactHeaders: new Set([...DEFAULT_REDACTED_HEADERS, ...req.redactHeaders.map((h) => h.toLowerCase())]),
    protoPaths: req.protoPaths,
  });
  const input = req.file === '-' ? process.stdin : createReadStream(req.file, { highWaterMark: INPUT_CHUNK_BYTES });
  // A regular file (also as `read - < file`) is read to its end even when the session stops
  // early, so that a truncated capture is always an error; a pipe is live and is let go.
  const regularFile = req.file !== '-' || fstatSync(0).isFile();
  session.start();
  const result = await readCapture(input, options, session, output, { verifyRest: regularFile, strict: req.session.strict });
  const { outcome } = await session.close({ frames: result.frames, stats: result.stats }, exitCodeOf, result.failure);
  if (result.failure !== undefined) {
    // The reader knows offsets, not names: say which input was not a capture.
    const failure = result.failure;
    if (failure instanceof CaptureFormatError) failure.message = `${req.file === '-' ? 'stdin' : req.file}: ${failure.message}`;
    throw failure;
  }
  if (!req.session.quiet) process.stderr.write(memoryFigures(req.memoryBudget, result.memory, result.stats));
  return exitCodeOf(outcome);
}

/**
 * The memory budget's line: the most the engine held against what it may hold (in bytes,
 * as name=value figures like the others), and records that were odd but read.
 */
function memoryFigures(budget: number, memory: { limit: number; peak: number }, stats: Record<string, number>): string {
  const mib = (n: number) => Math.round(n / 1024 / 1024);
  const odd = Object.entries(stats).filter(([name]) => /overSnaplen/i.test(name));
  return (
    `kubectl tap: memory.peakBytes=${memory.peak} memory.limitBytes=${memory.limit} ` +
    `(${mib(memory.peak)} of ${mib(memory.limit)} MiB held at most; --memory-budget ${mib(budget)} MiB)` +
    odd.map(([k, v]) => ` ${k}=${v}`).join('') +
    '\n'
  );
}

/** A path that cannot be a capture is a usage error, found before anything is read. */
async function checkInputFile(file: string): Promise<void> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new UsageError(`${file}: no such file`);
    if (err.code === 'EACCES') throw new UsageError(`${file}: permission denied`);
    throw new Error(`${file}: ${err.message}`);
  });
  if (info.isDirectory()) throw new UsageError(`${file}: is a directory; give a pcap or pcapng file`);
  await access(file, constants.R_OK).catch(() => {
    throw new UsageError(`${file}: permission denied`);
  });
}
