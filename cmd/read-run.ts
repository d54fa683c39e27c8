// The read command's body, loaded only when `read` runs (keeps --help fast).
import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { engineOptions } from '../src/engine.js';
import { CaptureFormatError, UsageError } from '../src/errors.js';
import { MIN_MEMORY_BUDGET } from '../src/memory/budget.js';
import { readCapture } from '../src/read-capture.js';
import { DEFAULT_REDACTED_HEADERS } from '../src/redact.js';
import { Stats } from '../src/stats.js';
import { compileFilter } from '../src/sink/filter.js';
import { LineOutput } from '../src/sink/output.js';
import { printerFor, type OutputMode } from '../src/sink/printers.js';

/**
 * Input is read in chunks of this size, and output drains between chunks: entries can be ten
 * times larger than the packets they came from (gRPC), so a smaller chunk bounds the output
 * waiting on a slow reader (a pipe) to a few MB.
 */
const INPUT_CHUNK_BYTES = 256 * 1024;

export interface ReadRequest {
  file: string;
  filter?: string;
  output: OutputMode;
  maxBody: number;
  maxMessages: number;
  memoryBudget: number;
  redact: boolean;
  redactHeaders: string[];
  protoPaths: string[];
  quiet: boolean;
}

export async function runRead(req: ReadRequest): Promise<void> {
  const filterStats = new Stats();
  // Everything that can be wrong with the flags fails before any input is read.
  const filter = req.filter === undefined ? undefined : compileFilter(req.filter, filterStats);
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
  const output = new LineOutput(process.stdout);
  const printer = printerFor(req.output, req.output === 'summary' && process.stdout.isTTY === true);
  const result = await readCapture(input, options, { output, printer, filter }).catch((err: unknown) => {
    // The reader knows offsets, not names: say which input was not a capture.
    if (err instanceof CaptureFormatError) err.message = `${req.file === '-' ? 'stdin' : req.file}: ${err.message}`;
    throw err;
  });
  if (!req.quiet) process.stderr.write(endOfRunSummary(result.frames, result.entries, result.written, { ...result.stats, ...filterStats.toJSON() }));
  if (!req.quiet) process.stderr.write(memoryFigures(req.memoryBudget, result.memory, result.stats));
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

/**
 * Counters of what was given up on (dropped, shed, cut, skipped, too large, over a limit,
 * malformed, lost to gaps...): every one of them is shown, never only kept in the stats.
 */
const GIVEN_UP = /dropped|malformed|evicted|gap|unclaimed|error|truncated|unsupported|overflow|toolarge|skipped|shed|lost|cut|overbudget|partial|refused|notdecoded/i;


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

/** One line of figures, then one line of what was dropped or malformed, if anything was. */
function endOfRunSummary(frames: number, entries: number, written: number, stats: Record<string, number>): string {
  const filtered = entries - written;
  let text = `kubectl tap: ${frames} frames, ${entries} entries${filtered > 0 ? `, ${filtered} filtered out` : ''}\n`;
  const notable = Object.entries(stats).filter(([name]) => GIVEN_UP.test(name));
  if (notable.length > 0) text += `kubectl tap: ${notable.map(([k, v]) => `${k}=${v}`).join(' ')}\n`;
  return text;
}
