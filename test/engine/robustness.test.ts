// The engine's robustness test: seeded mutations and truncations of every capture under
// testdata/ (discovered at run time) go through the whole engine in a worker thread.
// Required: no exception escapes (a CaptureFormatError on a corrupt file framing is the one
// allowed error), nothing hangs (10 s watchdog per case), every entry still matches
// docs/entry.schema.json, and memory stays bounded: the worker's heap after a full GC may
// grow at most HEAP_BOUND_MB, and the process RSS at most RSS_BOUND_MB, above the steady
// state measured after WARMUP_CASES cases (growth beyond that means state kept across
// engines). The run must also show the engine really worked on the mutated input: frames,
// entries, every baseline protocol, every capture used.
// ROBUSTNESS_CASES / ROBUSTNESS_SEED override the case count (default 10,000) and base seed;
// failures print a replay command for test/engine/robustness.fuzz.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadCapture, serialize } from './robustness-capture.js';
import { runCase } from './robustness-case.js';
import { caseSeed, describeFailure, discoverCaptures, MAX_CAPTURE_BYTES, memoryGrowth, RobustnessRun, type Failure } from './robustness-runner.js';

const CASES = Number(process.env.ROBUSTNESS_CASES ?? 10_000);
const BASE_SEED = Number(process.env.ROBUSTNESS_SEED ?? 20251126) >>> 0;
/** Packet bytes per case: small windows keep 10,000 cases within about a minute on two cores. */
const WINDOW_BYTES = 64 * 1024;
const WARMUP_CASES = 2000;
const SAMPLE_EVERY = 500;
const HEAP_BOUND_MB = 100;
const RSS_BOUND_MB = 200;
const MB = 1024 * 1024;

const captures = discoverCaptures().filter((c) => c.bytes <= MAX_CAPTURE_BYTES);
const baselineProtocols = new Set<string>();

test('every unmutated capture runs clean, and the mutators rewrite it faithfully', async () => {
  assert.ok(captures.length > 0, 'no captures found under testdata/');
  let entries = 0;
  for (const capture of captures) {
    const original = await runCase([readFileSync(capture.path)]);
    assert.equal(original.failure, undefined, `${capture.name}: ${original.failure?.kind} ${original.failure?.message}`);
    entries += original.entries;
    for (const p of original.protocols) baselineProtocols.add(p);
    if (original.captureFormatError) continue;
    // The mutators start from the capture written back from its parsed records: it must
    // read as the same traffic, or the mutations would be testing a different capture.
    const rewritten = await runCase([serialize(loadCapture(capture.path, capture.name)).bytes]);
    assert.equal(rewritten.failure, undefined, `${capture.name} rewritten: ${rewritten.failure?.message}`);
    assert.equal(rewritten.captureFormatError, false, `${capture.name} rewritten is not a valid capture`);
    assert.equal(rewritten.frames, original.frames, `${capture.name}: frames after rewriting`);
    assert.equal(rewritten.entries, original.entries, `${capture.name}: entries after rewriting`);
  }
  assert.ok(entries > 0, 'the unmutated captures produced no entries at all: the engine parsed nothing');
});

test('the harness catches a hang, a crash and a leak, naming the seeds', async () => {
  // Faults injected into the worker on purpose: without this, a watchdog that never fires
  // and a memory check that never sees growth would pass just as well.
  const base = 424242;
  const hangSeed = caseSeed(base, 4);
  const crashSeed = caseSeed(base, 9);
  const run = new RobustnessRun({
    cases: 30,
    baseSeed: base,
    captures,
    mutation: { maxWindowBytes: 4096 },
    caseTimeoutMs: 3000,
    memorySampleEvery: 2,
    workerHeapMb: 512,
    faults: { hangSeeds: [hangSeed], crashSeeds: [crashSeed], leakBytesPerCase: 2 * MB },
  });
  const s = await run.run();
  assert.equal(s.cases, 30);
  assert.deepEqual(
    s.failures.map((f) => [f.kind, f.seed]),
    [
      ['timeout', hangSeed],
      ['worker-crash', crashSeed],
    ],
  );
  assert.match(s.failures[1]!.message, /injected crash/);
  // 20 cases after the last restart leak 2 MB each; the steady state is taken after 4 of them.
  const growth = memoryGrowth(s, 4);
  assert.ok(growth.heapGrowth >= 16 * MB, `leak not seen: heap grew ${(growth.heapGrowth / MB).toFixed(1)} MB`);
});

test('the harness fails on exceptions the engine caught: a throwing detector, TCP parser or UDP parser', async () => {
  // The engine survives a dissector that throws (it counts it and carries on), so these
  // cases produce no escaping exception: only the counters can tell.
  const run = new RobustnessRun({
    cases: 12,
    baseSeed: 777,
    captures,
    mutation: { maxWindowBytes: 64 * 1024 },
    caseTimeoutMs: 10_000,
    memorySampleEvery: 1000,
    workerHeapMb: 512,
    faults: { hangSeeds: [], crashSeeds: [], leakBytesPerCase: 0, throwingDetectors: ['tls'], throwingParsers: ['http1', 'dns'] },
  });
  const s = await run.run();
  assert.ok(s.failures.length > 0, 'no case failed although a detector and two parsers threw on every input');
  assert.ok(s.failures.every((f) => f.kind === 'caught-exception'), JSON.stringify(s.failures.map((f) => f.kind)));
  const messages = s.failures.map((f) => f.message).join('\n');
  // tls is first in the registry: every TCP connection offered to it counts a detector error.
  assert.match(messages, /engine\.detectorErrors\.tls=\d+/);
  for (const f of s.failures) assert.match(f.message, /engine\.detectorErrors\.tls=|tcp\.parserErrors=|engine\.parserErrors=/);
  // The unpatched dissectors still ran in those cases: the failures are not a dead engine.
  assert.ok(s.entries > 0, 'no entries at all: the patched run did not exercise the engine');
});

test(`${CASES} seeded mutations of every capture: no exception, no hang, bounded memory`, { timeout: 900_000 }, async () => {
  const run = new RobustnessRun({
    cases: CASES,
    baseSeed: BASE_SEED,
    captures,
    mutation: { maxWindowBytes: WINDOW_BYTES },
    caseTimeoutMs: 10_000,
    memorySampleEvery: SAMPLE_EVERY,
    workerHeapMb: 1024,
  });
  const s = await run.run();
  const growth = memoryGrowth(s, WARMUP_CASES);
  console.log(
    `robustness: ${s.cases} cases, ${s.frames} frames, ${s.entries} entries (${[...s.protocols].sort().join(',')}), ` +
      `${s.casesWithEntries} cases with entries, ${s.captureFormatErrors} capture format errors, ${s.failures.length} failures; ` +
      (growth.steady
        ? `heap after GC ${(growth.steady.heapUsed / MB).toFixed(1)} MB at steady state (case ${growth.steady.afterCase}), ` +
          `+${(growth.heapGrowth / MB).toFixed(1)} MB peak growth, RSS +${(growth.rssGrowth / MB).toFixed(1)} MB`
        : 'too few cases for a memory steady state'),
  );

  assert.equal(s.failures.length, 0, failureReport(s.failures));
  assert.equal(s.cases, CASES);
  // The engine really ran on the mutated input.
  assert.ok(s.frames >= 10 * s.cases, `only ${s.frames} frames in ${s.cases} cases`);
  assert.ok(s.casesWithEntries >= s.cases / 4, `only ${s.casesWithEntries} of ${s.cases} cases produced entries`);
  assert.ok(s.captureFormatErrors <= s.cases / 3, `${s.captureFormatErrors} of ${s.cases} cases stopped at the file reader`);
  for (const p of baselineProtocols) assert.ok(s.protocols.has(p), `no ${p} entry from any mutated capture`);
  for (const c of captures) assert.ok(s.perCapture.has(c.name), `capture ${c.name} was never mutated`);
  // Bounded memory: enough samples after the steady state to see a trend, and no growth beyond the bound.
  if (CASES >= WARMUP_CASES + 3 * SAMPLE_EVERY) {
    assert.ok(growth.steady, 'no steady-state memory sample');
    assert.ok(growth.heapGrowth <= HEAP_BOUND_MB * MB, `worker heap grew ${(growth.heapGrowth / MB).toFixed(1)} MB after case ${growth.steady!.afterCase} (peak after case ${growth.peak?.afterCase})`);
    assert.ok(growth.rssGrowth <= RSS_BOUND_MB * MB, `RSS grew ${(growth.rssGrowth / MB).toFixed(1)} MB after case ${growth.steady!.afterCase}`);
  }
});

/** Failures grouped by kind and capture, then one full example (seed, mutations, stack, replay) of each distinct error. */
function failureReport(failures: Failure[]): string {
  const groups = new Map<string, number>();
  const examples = new Map<string, Failure>();
  for (const f of failures) {
    groups.set(`${f.kind} in ${f.capture}`, (groups.get(`${f.kind} in ${f.capture}`) ?? 0) + 1);
    const signature = `${f.kind} ${f.message.split('\n')[0]!.slice(0, 300)}`;
    if (!examples.has(signature)) examples.set(signature, f);
  }
  const replayEnv = `FUZZ_WINDOW=${WINDOW_BYTES}`;
  return [
    `${failures.length} failing cases (base seed ${BASE_SEED}):`,
    ...[...groups].map(([what, n]) => `  ${n} x ${what}`),
    `${examples.size} distinct errors, one example each:`,
    ...[...examples.values()].slice(0, 10).map((f) => describeFailure(f, replayEnv)),
  ].join('\n');
}
