// The worker thread that runs robustness cases, so the main thread can watch it: a case
// that does not answer within the timeout is a hang, and the worker is terminated. It
// loads and annotates the captures once, then answers one message per case.

import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadCapture } from './robustness-capture.js';
import { runCase, type CaseResult } from './robustness-case.js';
import { makeCase, type MutationOptions } from './mutate.js';
import { tcpDissectors, udpDissectors } from '../../src/protocols/registry.js';

export interface WorkerSetup {
  captures: { path: string; name: string }[];
  mutation: MutationOptions;
  /** Only for the harness's own test: faults that prove hangs, crashes and leaks are caught. */
  faults?: InjectedFaults;
}

export interface InjectedFaults {
  hangSeeds: number[];
  crashSeeds: number[];
  leakBytesPerCase: number;
  /** Dissectors patched to throw: from their detector, or from every byte their parser is given. */
  throwingDetectors?: string[];
  throwingParsers?: string[];
}

export interface CaseRequest {
  seed: number;
  /** Collect garbage and report the heap after this case. */
  sampleMemory: boolean;
}

export interface CaseReply {
  seed: number;
  capture: string;
  mutations: string[];
  result: CaseResult;
  /** V8 heap used after a full collection (this worker's isolate), and the process RSS. */
  memory?: { heapUsed: number; rss: number };
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const setup = workerData as WorkerSetup;
patchThrowingDissectors(setup.faults);
const captures = setup.captures.map((c) => loadCapture(c.path, c.name));
const leaked: number[][] = [];

parentPort!.on('message', async (request: CaseRequest) => {
  let reply: CaseReply;
  try {
    const mutated = makeCase(request.seed, captures, setup.mutation);
    const result = await runCase(mutated.chunks);
    // Let timers and promises the case left behind run now, so an asynchronous throw
    // crashes the worker while this seed is still the one being blamed.
    await new Promise((resolve) => setImmediate(resolve));
    reply = { seed: request.seed, capture: mutated.capture, mutations: mutated.mutations, result };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const result: CaseResult = { entries: 0, frames: 0, protocols: [], captureFormatError: false, failure: { kind: 'harness', message: err.message, stack: err.stack } };
    reply = { seed: request.seed, capture: '?', mutations: [], result };
  }
  injectFaults(request.seed);
  if (request.sampleMemory) {
    collectGarbage();
    reply.memory = { heapUsed: getHeapStatistics().used_heap_size, rss: process.memoryUsage.rss() };
  }
  parentPort!.postMessage(reply);
});
// The watchdog starts with the first case, not with the loading of tsx and the captures.
parentPort!.postMessage({ ready: true });

function injectFaults(seed: number): void {
  const faults = setup.faults;
  if (!faults) return;
  if (faults.leakBytesPerCase > 0) leaked.push(new Array<number>(Math.ceil(faults.leakBytesPerCase / 8)).fill(0.5));
  if (faults.hangSeeds.includes(seed)) for (;;);
  if (faults.crashSeeds.includes(seed)) throw new Error(`injected crash on seed ${seed}`);
}

/** Only for the harness's own test: dissectors that throw, which the engine survives and counts. */
function patchThrowingDissectors(faults: InjectedFaults | undefined): void {
  const fault = (what: string) => () => {
    throw new Error(`injected ${what} fault`);
  };
  for (const d of tcpDissectors) {
    const patched = d as { detect: unknown; create: unknown };
    if (faults?.throwingDetectors?.includes(d.name)) patched.detect = fault(`${d.name} detector`);
    if (faults?.throwingParsers?.includes(d.name)) {
      const create = d.create.bind(d);
      patched.create = (...args: Parameters<typeof d.create>) => {
        const parser = create(...args);
        return { onData: fault(`${d.name} parser`), onGap: parser.onGap.bind(parser), onEnd: parser.onEnd.bind(parser) };
      };
    }
  }
  for (const d of udpDissectors) {
    if (!faults?.throwingParsers?.includes(d.name)) continue;
    const create = d.create.bind(d);
    (d as { create: unknown }).create = (...args: Parameters<typeof d.create>) => {
      const parser = create(...args);
      return { onDatagram: fault(`${d.name} parser`), onEnd: parser.onEnd.bind(parser) };
    };
  }
}
