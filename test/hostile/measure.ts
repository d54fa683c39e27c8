// Runs the built CLI on a hostile capture the way a user does (`kubectl tap read FILE`,
// output through a pipe), under GNU time for the child's peak RSS. The output is read as it
// comes and only summarised (entry count, longest line, the first few entries a test asks
// for), so the test process itself stays small whatever the child prints. The end-of-run
// figures on stderr are parsed into counters: what a test asserts was shed must be there.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot } from '../helpers/cli.js';

/** Peak RSS a hostile capture may cost the reader (the goal: ≤300 MB on any input). */
export const RSS_LIMIT_KB = 300 * 1024;

export interface MeasuredRun {
  code: number | null;
  peakRssKb: number;
  entries: number;
  longestLine: number;
  /** Entries kept by `keep` (at most `keepLimit` of them), parsed. */
  kept: Record<string, unknown>[];
  stderr: string;
  /** The `name=value` figures of the end-of-run summary. */
  figures: Record<string, number>;
}

export interface RunOptions {
  keep?: (line: string) => boolean;
  keepLimit?: number;
  timeoutMs?: number;
}

/** The CLI as built from the sources now (a stale dist/ would measure old code). */
function ensureFreshBuild(): void {
  const fresh = () => {
    const built = existsSync(cliPath) ? statSync(cliPath).mtimeMs : 0;
    return built >= newestSource(join(repoRoot, 'src')) && built >= newestSource(join(repoRoot, 'cmd'));
  };
  if (fresh()) return;
  // Test files run in parallel: one builds, the others wait for it.
  const lock = join(repoRoot, 'dist.build-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (fresh()) return;
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('build failed');
  } finally {
    rmdirSync(lock);
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    newest = Math.max(newest, st.isDirectory() ? newestSource(path) : st.mtimeMs);
  }
  return newest;
}

export function readMeasured(args: string[], opts: RunOptions = {}): Promise<MeasuredRun> {
  ensureFreshBuild();
  const dir = mkdtempSync(join(tmpdir(), 'tap-rss-'));
  const timeFile = join(dir, 'time');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, cliPath, 'read', ...args], { cwd: repoRoot });
    let entries = 0;
    let longestLine = 0;
    let partial = 0;
    const kept: Record<string, unknown>[] = [];
    let carry = '';
    const keepLimit = opts.keepLimit ?? 50;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      let from = 0;
      for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
        const length = partial + nl - from;
        if (length > longestLine) longestLine = length;
        entries += 1;
        if (opts.keep && kept.length < keepLimit && length < 8 * 1024 * 1024) {
          const line = carry + chunk.slice(from, nl);
          if (opts.keep(line)) kept.push(JSON.parse(line) as Record<string, unknown>);
        }
        carry = '';
        partial = 0;
        from = nl + 1;
      }
      partial += chunk.length - from;
      if (opts.keep && carry.length < 8 * 1024 * 1024) carry += chunk.slice(from);
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl-tap read ${args.join(' ')} still running after ${opts.timeoutMs ?? 120_000} ms`));
    }, opts.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const peakRssKb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1));
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, peakRssKb, entries, longestLine, kept, stderr, figures: parseFigures(stderr) });
    });
  });
}

function parseFigures(stderr: string): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const m of stderr.matchAll(/([\w.-]+)=(\d+)/g)) figures[m[1]] = Number(m[2]);
  return figures;
}

/** Sum of the figures whose names start with `prefix`. */
export function figure(run: MeasuredRun, prefix: string): number {
  let sum = 0;
  for (const [name, value] of Object.entries(run.figures)) if (name === prefix || name.startsWith(`${prefix}.`)) sum += value;
  return sum;
}

export function describeRun(run: MeasuredRun): string {
  return `exit ${run.code}, peak RSS ${Math.round(run.peakRssKb / 1024)} MB, ${run.entries} entries, longest line ${run.longestLine} B\n${run.stderr}`;
}
