// `make fuzz`: the robustness cases without an end. Environment:
//   FUZZ_CASES   number of cases; 0 (the Makefile's default) runs until Ctrl-C
//   FUZZ_SEED    base seed (default: random, printed); case i uses a seed derived from it
//   FUZZ_WINDOW  packet bytes taken from a capture per case (default 256 KiB)
//   FUZZ_REPLAY  run the one case with this seed in this thread and print its full outcome
// Every failure is printed with its seed, capture, mutations, stack and replay command, as
// it happens; progress goes to stderr every few seconds. Exit code 1 when anything failed.

import { loadCapture } from './robustness-capture.js';
import { runCase } from './robustness-case.js';
import { makeCase } from './mutate.js';
import { describeFailure, discoverCaptures, MAX_CAPTURE_BYTES, memoryGrowth, RobustnessRun, type RunSummary } from './robustness-runner.js';

const window = Number(process.env.FUZZ_WINDOW ?? 256 * 1024);
const captures = discoverCaptures().filter((c) => c.bytes <= MAX_CAPTURE_BYTES);
const replayEnv = `FUZZ_WINDOW=${window}`;
const MB = 1024 * 1024;

if (process.env.FUZZ_REPLAY !== undefined) {
  const seed = Number(process.env.FUZZ_REPLAY) >>> 0;
  const models = captures.map((c) => loadCapture(c.path, c.name));
  const mutated = makeCase(seed, models, { maxWindowBytes: window });
  console.error(`seed ${seed}: capture ${mutated.capture}\n  ${mutated.mutations.join('\n  ')}`);
  const result = await runCase(mutated.chunks);
  console.error(JSON.stringify({ ...result, failure: undefined }, null, 1));
  if (result.failure) {
    console.error(`FAILED (${result.failure.kind}): ${result.failure.stack ?? result.failure.message}`);
    process.exitCode = 1;
  }
} else {
  const requested = Number(process.env.FUZZ_CASES ?? 0);
  const baseSeed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  const started = Date.now();
  console.error(`fuzzing ${captures.length} captures, base seed ${baseSeed}, window ${window} bytes, ${requested > 0 ? `${requested} cases` : 'until interrupted'}`);
  const run = new RobustnessRun({
    cases: requested > 0 ? requested : Infinity,
    baseSeed,
    captures,
    mutation: { maxWindowBytes: window },
    caseTimeoutMs: 10_000,
    memorySampleEvery: 1000,
    workerHeapMb: 1024,
    progressEvery: 1000,
    onProgress: (s) => console.error(progressLine(s)),
    onFailure: (f) => console.error(`\nFAILURE ${describeFailure(f, replayEnv)}\n`),
  });
  process.once('SIGINT', () => run.stop());
  process.once('SIGTERM', () => run.stop());
  const summary = await run.run();
  console.error(`done: ${progressLine(summary)}`);
  const kinds = new Map<string, number>();
  for (const f of summary.failures) kinds.set(`${f.kind} ${f.message.split('\n')[0]}`, (kinds.get(`${f.kind} ${f.message.split('\n')[0]}`) ?? 0) + 1);
  for (const [what, n] of kinds) console.error(`  ${n} x ${what}`);
  if (summary.failures.length > 0) process.exitCode = 1;

  function progressLine(s: RunSummary): string {
    const seconds = (Date.now() - started) / 1000;
    const growth = memoryGrowth(s, 2000);
    const heap = s.memory.at(-1);
    return (
      `${s.cases} cases (${(s.cases / seconds).toFixed(0)}/s), ${s.frames} frames, ${s.entries} entries ` +
      `(${[...s.protocols].join(',')}), ${s.captureFormatErrors} capture errors, ${s.failures.length} failures, ` +
      `heap ${heap ? (heap.heapUsed / MB).toFixed(0) : '?'} MB (+${(growth.heapGrowth / MB).toFixed(1)} MB since steady state)`
    );
  }
}
