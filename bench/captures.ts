// The benchmark's captures, made once by their scripts into bench/out/ (the cache), named
// after the script's content so that a changed script makes a new one. bench/run.ts and
// bench/scale.ts read the same files.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchCase } from './cases.js';

export const outDir = 'bench/out';

/** The cached capture of a case: its script's content names it. */
export function captureFile(c: BenchCase): string {
  const digest = createHash('sha256').update(readFileSync(c.make)).digest('hex').slice(0, 10);
  return join(outDir, `${c.name}-${digest}.pcap`);
}

export function makeCapture(c: BenchCase, file: string): boolean {
  if (existsSync(file)) return true;
  console.error(`bench: making ${file} with ${c.make} (once; reused afterwards)`);
  const partial = `${file}.partial`;
  const made = spawnSync('bash', [c.make, partial], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (made.status !== 0 || !existsSync(partial)) {
    console.error(`bench: ${c.name}: ${c.make} failed, skipped`);
    return false;
  }
  renameSync(partial, file);
  return true;
}
