// Drives the robustness cases for both `make test` (a fixed number) and `make fuzz` (until
// interrupted): discovers the captures under testdata/ at run time, runs each seeded case in
// a worker thread with a watchdog, restarts the worker after a hang or crash, samples the
// worker's heap after garbage collection, and keeps the totals that prove the engine ran.

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FailureKind } from './robustness-case.js';
import type { CaseReply, CaseRequest, InjectedFaults, WorkerSetup } from './robustness-worker.js';
import { makeCase, type MutationOptions } from './mutate.js';
import { loadCapture, type CaptureModel } from './robustness-capture.js';

export const TESTDATA = fileURLToPath(new URL('../../testdata/', import.meta.url));
/** Captures larger than this are left out of the mutation pool (the windows keep cases small anyway). */
export const MAX_CAPTURE_BYTES = 2 * 1024 * 1024;

/** Loading tsx and parsing every capture, on a busy machine. */
const WORKER_START_MS = 120_000;

export interface CaptureFile {
  path: string;
  /** Path relative to testdata/, e.g. "redis/pipeline.pcap": how failures name the capture. */
  name: string;
  bytes: number;
}

/** Every *.pcap / *.pcapng under testdata/, sorted, so a seed names the same case on every machine with the same files. */
export function discoverCaptures(root = TESTDATA): CaptureFile[] {
  const walk = (dir: string): CaptureFile[] =>
    readdirSync(dir)
      .sort()
      .flatMap((entry) => {
        const path = join(dir, entry);
        const info = statSync(path);
        if (info.isDirectory()) return walk(path);
        return /\.pcap(ng)?$/.test(entry) ? [{ path, name: relative(root, path), bytes: info.size }] : [];
      });
  return walk(root);
}

export interface Failure {
  seed: number;
  capture: string;
  mutations: string[];
  kind: FailureKind;
  message: string;
  stack?: string;
}

export interface MemorySample {
  afterCase: number;
  heapUsed: number;
  rss: number;
}

export interface RunSummary {
  cases: number;
  entries: number;
  frames: number;
  casesWithEntries: number;
  captureFormatErrors: number;
  protocols: Set<string>;
  perCapture: Map<string, { cases: number; entries: number }>;
  failures: Failure[];
  memory: MemorySample[];
  /** Heap samples since the last worker (re)start; a restart begins a new steady state. */
  workerStarts: number[];
}

export interface RunOptions {
  /** Number of cases; Infinity runs until stop() is called. */
  cases: number;
  baseSeed: number;
  captures: CaptureFile[];
  mutation: MutationOptions;
  caseTimeoutMs: number;
  /** Sample memory (after a forced GC in the worker) every this many cases. */
  memorySampleEvery: number;
  /** Old-space limit of the worker: a case that allocates without bound dies here, not on the machine. */
  workerHeapMb: number;
  onFailure?: (failure: Failure) => void;
  onProgress?: (summary: RunSummary) => void;
  progressEvery?: number;
  /** Only for the harness's own test. */
  faults?: InjectedFaults;
}

export function caseSeed(baseSeed: number, index: number): number {
  return (baseSeed + Math.imul(index, 0x9e3779b9)) >>> 0;
}

export class RobustnessRun {
  private stopped = false;
  readonly summary: RunSummary = {
    cases: 0,
    entries: 0,
    frames: 0,
    casesWithEntries: 0,
    captureFormatErrors: 0,
    protocols: new Set(),
    perCapture: new Map(),
    failures: [],
    memory: [],
    workerStarts: [],
  };

  constructor(private readonly options: RunOptions) {}

  stop(): void {
    this.stopped = true;
  }

  async run(): Promise<RunSummary> {
    const o = this.options;
    let worker = await this.startWorker();
    let consecutiveLosses = 0;
    try {
      for (let i = 0; i < o.cases && !this.stopped; i++) {
        const request: CaseRequest = { seed: caseSeed(o.baseSeed, i), sampleMemory: (i + 1) % o.memorySampleEvery === 0 };
        const outcome = await this.runOne(worker, request);
        if ('reply' in outcome) {
          this.record(outcome.reply);
          consecutiveLosses = 0;
        } else {
          // A broken harness (the worker cannot even start) would otherwise spin forever.
          if (++consecutiveLosses >= 5) throw new Error(`the worker died on ${consecutiveLosses} cases in a row, last: ${outcome.message}`);
          this.summary.cases++;
          const { capture, mutations } = this.describeCase(request.seed);
          this.addFailure({ seed: request.seed, capture, mutations, kind: outcome.kind, message: outcome.message });
          await worker.terminate();
          worker = await this.startWorker();
        }
        if (o.onProgress && o.progressEvery && this.summary.cases % o.progressEvery === 0) o.onProgress(this.summary);
      }
    } finally {
      await worker.terminate();
    }
    return this.summary;
  }

  /** A new worker, once it has loaded the captures (startup is not charged to the first case). */
  private async startWorker(): Promise<Worker> {
    const setup: WorkerSetup = {
      captures: this.options.captures.map(({ path, name }) => ({ path, name })),
      mutation: this.options.mutation,
      faults: this.options.faults,
    };
    this.summary.workerStarts.push(this.summary.cases);
    // Workers do not inherit tsx's loader from `--import tsx`: register it in the worker first.
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
      .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./robustness-worker.ts', import.meta.url).href)}); })`;
    const worker = new Worker(bootstrap, {
      eval: true,
      workerData: setup,
      resourceLimits: { maxOldGenerationSizeMb: this.options.workerHeapMb },
      stdout: false,
      stderr: false,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the robustness worker did not start within ${WORKER_START_MS} ms`)), WORKER_START_MS);
      worker.once('message', () => {
        clearTimeout(timer);
        worker.off('error', reject);
        resolve();
      });
      worker.once('error', reject);
    }).catch(async (error) => {
      await worker.terminate();
      throw error;
    });
    return worker;
  }

  /** One case with its watchdog: the reply, or why there was none (hang, crash, out of memory). */
  private runOne(worker: Worker, request: CaseRequest): Promise<{ reply: CaseReply } | { kind: FailureKind; message: string }> {
    return new Promise((resolve) => {
      const done = (value: { reply: CaseReply } | { kind: FailureKind; message: string }) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(value);
      };
      const onMessage = (reply: CaseReply) => done({ reply });
      const onError = (error: Error) => done({ kind: 'worker-crash', message: `${error.name}: ${error.message}\n${error.stack ?? ''}` });
      const onExit = (code: number) => done({ kind: 'worker-crash', message: `worker exited with code ${code}` });
      const timer = setTimeout(() => done({ kind: 'timeout', message: `no answer within ${this.options.caseTimeoutMs} ms (hang)` }), this.options.caseTimeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(request);
    });
  }

  private record(reply: CaseReply): void {
    const s = this.summary;
    const r = reply.result;
    s.cases++;
    s.entries += r.entries;
    s.frames += r.frames;
    if (r.entries > 0) s.casesWithEntries++;
    if (r.captureFormatError) s.captureFormatErrors++;
    for (const p of r.protocols) s.protocols.add(p);
    const per = s.perCapture.get(reply.capture) ?? { cases: 0, entries: 0 };
    per.cases++;
    per.entries += r.entries;
    s.perCapture.set(reply.capture, per);
    if (reply.memory) s.memory.push({ afterCase: s.cases, ...reply.memory });
    if (r.failure) this.addFailure({ seed: reply.seed, capture: reply.capture, mutations: reply.mutations, ...r.failure });
  }

  private models: CaptureModel[] | undefined;

  /** The worker died without saying which case it ran: rebuild the case here (the same seed gives the same case). */
  private describeCase(seed: number): { capture: string; mutations: string[] } {
    this.models ??= this.options.captures.map((c) => loadCapture(c.path, c.name));
    const mutated = makeCase(seed, this.models, this.options.mutation);
    return { capture: mutated.capture, mutations: mutated.mutations };
  }

  private addFailure(failure: Failure): void {
    // Keep the first few hundred: a systematic bug fails thousands of cases the same way.
    if (this.summary.failures.length < 500) this.summary.failures.push(failure);
    this.options.onFailure?.(failure);
  }
}

export interface MemoryGrowth {
  heapGrowth: number;
  rssGrowth: number;
  steady?: MemorySample;
  peak?: MemorySample;
}

/**
 * Growth of the worker's post-GC heap (and of the RSS) over the steady state, which is the
 * first sample taken after `warmupCases` cases of the same worker: by then every dissector
 * and the JIT are loaded, so later growth is state kept across engines.
 */
export function memoryGrowth(summary: RunSummary, warmupCases: number): MemoryGrowth {
  const lastStart = summary.workerStarts[summary.workerStarts.length - 1] ?? 0;
  const samples = summary.memory.filter((m) => m.afterCase > lastStart);
  const steady = samples.find((m) => m.afterCase - lastStart >= warmupCases);
  if (!steady) return { heapGrowth: 0, rssGrowth: 0 };
  const later = samples.filter((m) => m.afterCase > steady.afterCase);
  let peak: MemorySample | undefined;
  let heapGrowth = 0;
  let rssGrowth = 0;
  for (const m of later) {
    if (m.heapUsed - steady.heapUsed > heapGrowth) {
      heapGrowth = m.heapUsed - steady.heapUsed;
      peak = m;
    }
    rssGrowth = Math.max(rssGrowth, m.rss - steady.rss);
  }
  return { heapGrowth, rssGrowth, steady, peak };
}

export function describeFailure(f: Failure, replayEnv: string): string {
  return [
    `seed ${f.seed} (${f.kind}) capture ${f.capture}`,
    `  mutations: ${f.mutations.join('; ') || '-'}`,
    `  ${f.message.split('\n')[0]}`,
    ...(f.stack ? f.stack.split('\n').slice(1, 6).map((l) => `  ${l.trim()}`) : []),
    `  replay: ${replayEnv} FUZZ_REPLAY=${f.seed} node --import tsx test/engine/robustness.fuzz.ts`,
  ].join('\n');
}
