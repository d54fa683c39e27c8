// A StreamContext for driving one dissector directly (without the engine) that records
// what it emits: the calls, the stats, and the endpoints to turn calls into entries.
import { engineOptions } from '../../src/engine.js';
import type { Call } from '../../src/entry.js';
import type { EngineOptions, StreamContext } from '../../src/protocols/types.js';
import { MemoryBudget } from '../../src/memory/budget.js';
import { Stats } from '../../src/stats.js';

export type RecordingContext = StreamContext & { calls: Call[]; stats: Stats };

export function recordingContext(
  opts: { options?: Partial<EngineOptions>; midstream?: boolean; switchTo?: StreamContext['switchTo'] } = {},
): RecordingContext {
  const calls: Call[] = [];
  const options = engineOptions(opts.options);
  const stats = new Stats();
  return {
    calls,
    client: { ip: '127.0.0.1', port: 40000 },
    server: { ip: '127.0.0.1', port: 8080 },
    midstream: opts.midstream ?? false,
    options,
    stats,
    memory: new MemoryBudget(options.memoryBudget, stats),
    emit: (call) => calls.push(call),
    switchTo: opts.switchTo ?? (() => null),
  };
}
