// `make bench`: for each protocol, a capture big enough to time (made once by its script
// into bench/out/, the cache, named after the script's content so a changed script makes a
// new one), then in the same run: `kubectl tap read` pinned to one core through a pipe, and
// tshark on the same file, `-T ek` (every field, the peer for whole entries) and `-T fields`
// (the fields that make up our summary line), each with wall time and peak RSS from GNU
// time. Prints entries/s, peak RSS and the ratios, the share of our run that is start-up
// (`read` of an empty capture), and the machine's load next to every figure. Rates and ratios
// are given on wall time and on CPU time (user + sys): on a shared machine under load the
// wall time of a pinned process is mostly waiting for its core, the CPU time is its work.
// Nothing here is asserted: tests never depend on wall-clock times.
// Usage: node --import tsx bench/run.ts [case ...]   (BENCH_MAKE_ONLY=1: make the captures, time nothing)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BENCH_CASES } from './cases.js';
import { captureFile, makeCapture, outDir } from './captures.js';

const only = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });

interface Timed {
  seconds: number;
  /** User + system CPU seconds. */
  cpu: number;
  peakRssMb: number;
  stdoutLines: number;
  /** The 1-minute load average when the run started. */
  load: number;
}

/** Runs a command under GNU time; counts stdout lines without keeping them. */
function timed(argv: string[]): Timed {
  const timeFile = join(outDir, `.time-${process.pid}`); // two runs at once must not share it
  const load = loadavg()[0];
  const r = spawnSync('bash', ['-c', '/usr/bin/time -f "%e %M %U %S" -o "$0" "$@" | wc -l', timeFile, ...argv], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const [seconds, rssKb, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(timeFile, { force: true });
  if (!Number.isFinite(seconds)) throw new Error(`could not time ${argv.join(' ')}: ${r.stderr.slice(-500)}`);
  return { seconds, cpu: user + sys, peakRssMb: rssKb / 1024, stdoutLines: Number(r.stdout.trim()), load };
}

function capinfoPackets(file: string): number {
  const r = spawnSync('capinfos', ['-c', '-M', file], { encoding: 'utf8' });
  const m = /Number of packets:\s*(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : NaN;
}

/** An empty capture (the header only): `read` of it is the start-up every run pays. */
function emptyCapture(): string {
  const file = join(outDir, 'empty.pcap');
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // Ethernet
  writeFileSync(file, header);
  return file;
}

const rate = (n: number, s: number) => (s > 0 ? Math.round(n / s).toLocaleString('en-US') : 'n/a');
const ratio = (peer: Timed, ours: Timed) => `${(peer.seconds / ours.seconds).toFixed(1)}x`;
const cpuRatio = (peer: Timed, ours: Timed) => `${(peer.cpu / ours.cpu).toFixed(1)}x`;
const load = (t: Timed) => `load ${t.load.toFixed(1)}`;
const ours = (file: string) => timed(['taskset', '-c', '0', 'dist/kubectl-tap', 'read', file, '--quiet']);
const rows: string[] = [];

const cases = BENCH_CASES.filter((c) => only.length === 0 || only.includes(c.name));
const makeOnly = process.env.BENCH_MAKE_ONLY === '1';
const startup = makeOnly ? null : ours(emptyCapture());
if (startup) console.log(`start-up (read of an empty capture, pinned): ${startup.seconds.toFixed(2)} s (CPU ${startup.cpu.toFixed(2)} s), peak RSS ${startup.peakRssMb.toFixed(0)} MB (${load(startup)})`);

for (const c of cases) {
  const file = captureFile(c);
  if (!makeCapture(c, file) || startup === null) continue;
  const packets = capinfoPackets(file);
  const sizeMb = statSync(file).size / 1e6;
  const run = ours(file);
  const ek = timed(['tshark', '-r', file, ...c.tsharkDecodeAs, '-Y', c.tsharkFilter, '-T', 'ek']);
  const fields = timed(['tshark', '-r', file, ...c.tsharkDecodeAs, '-Y', c.tsharkFilter, '-T', 'fields', ...c.tsharkFields.flatMap((f) => ['-e', f])]);
  const entries = run.stdoutLines;
  const ekPackets = ek.stdoutLines / 2; // -T ek writes an index line and a document line per packet
  const startShare = `${((100 * startup.cpu) / run.cpu).toFixed(1)}%`;
  console.log(`\n== ${c.name}: ${file} (${sizeMb.toFixed(1)} MB, ${packets.toLocaleString('en-US')} packets)`);
  console.log(`kubectl tap read : ${run.seconds.toFixed(2)} s, ${rate(packets, run.seconds)} packets/s, ${rate(entries, run.seconds)} entries/s (${entries} entries); CPU ${run.cpu.toFixed(2)} s, ${rate(entries, run.cpu)} entries per CPU-second; peak RSS ${run.peakRssMb.toFixed(0)} MB; start-up ${startShare} of its CPU (${load(run)})`);
  // tshark's rate in calls/s: the same file holds the same calls, so our entries divided by its time.
  console.log(`tshark -T ek     : ${ek.seconds.toFixed(2)} s, ${rate(entries, ek.seconds)} calls/s (${ekPackets} matching packets); CPU ${ek.cpu.toFixed(2)} s, ${rate(entries, ek.cpu)}/CPU-s; peak RSS ${ek.peakRssMb.toFixed(0)} MB (${load(ek)})`);
  console.log(`tshark -T fields : ${fields.seconds.toFixed(2)} s, ${rate(entries, fields.seconds)} calls/s (${fields.stdoutLines} matching packets; ${c.tsharkFields.join(', ')}); CPU ${fields.cpu.toFixed(2)} s, ${rate(entries, fields.cpu)}/CPU-s; peak RSS ${fields.peakRssMb.toFixed(0)} MB (${load(fields)})`);
  console.log(`ratios           : wall ${ratio(ek, run)} faster than -T ek, ${ratio(fields, run)} than -T fields; CPU ${cpuRatio(ek, run)} less than -T ek, ${cpuRatio(fields, run)} than -T fields; RSS ${(run.peakRssMb / ek.peakRssMb).toFixed(2)}x of -T ek, ${(run.peakRssMb / fields.peakRssMb).toFixed(2)}x of -T fields`);
  rows.push(
    `| ${c.name} | ${entries.toLocaleString('en-US')} | ${rate(entries, run.seconds)}/s (${rate(entries, run.cpu)}/CPU-s) | ${run.peakRssMb.toFixed(0)} MB | ${startShare} | ` +
      `${rate(entries, fields.seconds)}/s (${fields.peakRssMb.toFixed(0)} MB) | ${ratio(fields, run)} (CPU ${cpuRatio(fields, run)}) | ` +
      `${rate(entries, ek.seconds)}/s (${ek.peakRssMb.toFixed(0)} MB) | ${ratio(ek, run)} (CPU ${cpuRatio(ek, run)}) | ${run.load.toFixed(1)} |`,
  );
}
if (rows.length > 0) {
  console.log('\n== summary (kubectl tap read pinned to one core, through a pipe; tshark unpinned)');
  console.log('| capture | entries | ours, wall (CPU) | peak RSS | start-up (CPU) | tshark -T fields | ratio, wall (CPU) | tshark -T ek | ratio, wall (CPU) | load |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  console.log(rows.join('\n'));
}
