// `make bench`: for each protocol, a capture big enough to time (made once, reused from
// bench/out/), then in the same run: `kubectl tap read` pinned to one core, and tshark on
// the same file (-T ek, and -T fields where given), with wall time and peak RSS from GNU
// time. Prints packets/s, entries/s, peak RSS and the ratios. Nothing here is asserted:
// tests never depend on wall-clock times.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_CASES } from './cases.js';

interface BenchCase {
  name: string;
  /** Script that writes the capture to its first argument. */
  make: string;
  /** tshark display filter selecting one packet per call, and decode-as options for odd ports. */
  tsharkFilter: string;
  tsharkDecodeAs: string[];
  /** Fields for the -T fields run (one line per matching packet). */
  tsharkFields: string[];
}

const CASES: BenchCase[] = BENCH_CASES;
const only = process.argv.slice(2);
const outDir = 'bench/out';
mkdirSync(outDir, { recursive: true });

interface Timed {
  seconds: number;
  peakRssMb: number;
  stdoutLines: number;
  stderr: string;
}

/** Runs a command under GNU time; counts stdout lines without keeping them. */
function timed(argv: string[]): Timed {
  const timeFile = join(outDir, '.time');
  const r = spawnSync('bash', ['-c', '/usr/bin/time -f "%e %M" -o "$0" "$@" | wc -l', timeFile, ...argv], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const [seconds, rssKb] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  if (!Number.isFinite(seconds)) throw new Error(`could not time ${argv.join(' ')}: ${r.stderr.slice(-500)}`);
  return { seconds, peakRssMb: rssKb / 1024, stdoutLines: Number(r.stdout.trim()), stderr: r.stderr };
}

function capinfoPackets(file: string): number {
  const r = spawnSync('capinfos', ['-c', '-M', file], { encoding: 'utf8' });
  const m = /Number of packets:\s*(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : NaN;
}

const rate = (n: number, s: number) => (s > 0 ? Math.round(n / s).toLocaleString('en-US') : 'n/a');
const rows: string[] = [];

for (const c of CASES) {
  if (only.length > 0 && !only.includes(c.name)) continue;
  const file = join(outDir, `${c.name}.pcap`);
  if (!existsSync(file)) {
    console.error(`bench: making ${file} with ${c.make} (once; reused afterwards)`);
    const made = spawnSync('bash', [c.make, file], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (made.status !== 0 || !existsSync(file)) {
      console.error(`bench: ${c.name}: ${c.make} failed, skipped`);
      continue;
    }
  }
  const packets = capinfoPackets(file);
  const sizeMb = statSync(file).size / 1e6;
  const ours = timed(['taskset', '-c', '0', 'dist/kubectl-tap', 'read', file, '--quiet']);
  const ek = timed(['tshark', '-r', file, ...c.tsharkDecodeAs, '-Y', c.tsharkFilter, '-T', 'ek']);
  const fields = timed(['tshark', '-r', file, ...c.tsharkDecodeAs, '-Y', c.tsharkFilter, '-T', 'fields', ...c.tsharkFields.flatMap((f) => ['-e', f])]);
  const entries = ours.stdoutLines;
  const ekPackets = ek.stdoutLines / 2; // -T ek writes an index line and a document line per packet
  console.log(`\n== ${c.name}: ${file} (${sizeMb.toFixed(1)} MB, ${packets.toLocaleString('en-US')} packets)`);
  console.log(`kubectl tap read : ${ours.seconds.toFixed(2)} s, ${rate(packets, ours.seconds)} packets/s, ${rate(entries, ours.seconds)} entries/s (${entries} entries), peak RSS ${ours.peakRssMb.toFixed(0)} MB`);
  // tshark's rate in calls/s: the same file holds the same calls, so ours divided by its time.
  console.log(`tshark -T ek     : ${ek.seconds.toFixed(2)} s, ${rate(entries, ek.seconds)} calls/s (${ekPackets} matching packets), peak RSS ${ek.peakRssMb.toFixed(0)} MB`);
  console.log(`tshark -T fields : ${fields.seconds.toFixed(2)} s, ${rate(entries, fields.seconds)} calls/s (${fields.stdoutLines} matching packets), peak RSS ${fields.peakRssMb.toFixed(0)} MB`);
  console.log(`ratios           : ${(ek.seconds / ours.seconds).toFixed(1)}x faster than -T ek, ${(fields.seconds / ours.seconds).toFixed(1)}x faster than -T fields; RSS ${(ours.peakRssMb / ek.peakRssMb).toFixed(2)}x of -T ek`);
  rows.push(`${c.name.padEnd(8)} ${rate(entries, ours.seconds).padStart(10)} entries/s  ${rate(packets, ours.seconds).padStart(11)} pkts/s  ${ours.peakRssMb.toFixed(0).padStart(4)} MB  | tshark ek ${rate(entries, ek.seconds).padStart(8)}/s  ratio ${(ek.seconds / ours.seconds).toFixed(1)}x`);
}
console.log(`\n== summary (kubectl tap pinned to one core)\n${rows.join('\n')}`);
