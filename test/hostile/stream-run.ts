// Runs `kubectl tap read -` on a generated capture streamed into its stdin, under GNU time
// for the child's peak RSS, with stdout through a pipe (read and counted here) or to a file.
// Returns what a user would see plus the end-of-run counters parsed from stderr.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, ensureBuilt, repoRoot } from '../helpers/cli.js';
import { PcapStream } from './pcap-stream.js';

export const GNU_TIME = '/usr/bin/time';

/** Why the hostile tests cannot run here, or null when they can. */
export function missingTool(): string | null {
  if (!existsSync(GNU_TIME)) return 'GNU time (/usr/bin/time, Debian package "time") is not installed';
  const r = spawnSync(GNU_TIME, ['-f', '%M', 'true'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'GNU time does not run';
}

export interface HostileRun {
  code: number | null;
  peakRssMB: number;
  stderr: string;
  /** Lines written to stdout (entries). */
  lines: number;
  stdoutBytes: number;
  /** The capture's size, as a file would have it. */
  captureBytes: number;
  /** name=value pairs from the end-of-run figures on stderr. */
  counters: Record<string, number>;
  /** The first stdout line, parsed, and the last one (when any). */
  first?: Record<string, unknown>;
}

export async function runHostile(
  generate: (w: PcapStream) => Promise<void>,
  opts: { args?: string[]; output?: 'pipe' | 'file'; snaplen?: number } = {},
): Promise<HostileRun> {
  ensureBuilt();
  const dir = opts.output === 'file' ? mkdtempSync(join(tmpdir(), 'kubectl-tap-hostile-')) : null;
  const outFile = dir ? join(dir, 'out.ndjson') : null;
  const fd = outFile ? openSync(outFile, 'w') : null;
  const child = spawn(GNU_TIME, ['-f', 'peak-rss-kb=%M', cliPath, 'read', '-', ...(opts.args ?? [])], {
    cwd: repoRoot,
    stdio: ['pipe', fd ?? 'pipe', 'pipe'],
  });
  if (fd !== null) closeSync(fd);
  let stderr = '';
  let lines = 0;
  let stdoutBytes = 0;
  let head = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout?.on('data', (d: Buffer) => {
    stdoutBytes += d.length;
    if (head.length < 65536 && !head.includes('\n')) head += d.toString('utf8');
    for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdin!.on('error', () => {}); // the child may stop reading early (a fatal input error)
  const writer = new PcapStream(child.stdin!, opts.snaplen);
  let captureBytes = 0;
  try {
    await generate(writer);
    await writer.end();
  } catch {
    // stdin closed by the child: its exit status and stderr say why
  }
  captureBytes = writer.bytes;
  const code = await exited;
  if (outFile) {
    stdoutBytes = statSync(outFile).size;
    const text = readFileSync(outFile, 'utf8');
    lines = text.length === 0 ? 0 : text.split('\n').length - 1;
    head = text.slice(0, text.indexOf('\n') + 1);
    rmSync(dir!, { recursive: true, force: true });
  }
  const rss = /peak-rss-kb=(\d+)/.exec(stderr);
  const counters: Record<string, number> = {};
  for (const m of stderr.replace(/peak-rss-kb=\d+/, '').matchAll(/([\w.]+)=(\d+)/g)) counters[m[1]!] = Number(m[2]);
  const firstLine = head.split('\n')[0];
  return {
    code,
    peakRssMB: rss ? Number(rss[1]) / 1024 : Number.NaN,
    // GNU time's own lines: the figure, and a note when the command failed.
    stderr: stderr.replace(/peak-rss-kb=\d+\n?/, '').replace(/Command exited with non-zero status \d+\n/, ''),
    lines,
    stdoutBytes,
    captureBytes,
    counters,
    first: firstLine ? (JSON.parse(firstLine) as Record<string, unknown>) : undefined,
  };
}

/** The peak RSS every hostile shape must stay under (the goal). */
export const PEAK_RSS_LIMIT_MB = 300;
