// One --memory-budget bounds the whole daemon: the kernel rings of the capture handles (two
// during a change of targets), the consumers' queues, and the engine's own budget
// (src/memory/budget.ts), which gets what is left. At the default 256 MiB: rings 2 x 32 MiB,
// queues 32 MiB, engine 160 MiB.
import { MIN_MEMORY_BUDGET } from '../src/memory/budget.js';
import { UsageError } from '../src/errors.js';

export interface MemorySplit {
  total: number;
  /** One handle's kernel ring. */
  kernelRing: number;
  /** Both handles' rings, as during a change of targets. */
  kernelRings: number;
  /** All consumers' queues together. */
  queuePool: number;
  /** One consumer's queue. */
  consumerQueue: number;
  /** Streams open at once at most: queuePool / consumerQueue. */
  maxConsumers: number;
  engine: number;
}

export function splitMemoryBudget(total: number, consumerQueue: number, live: boolean): MemorySplit {
  // A ring slot holds one packet of up to 64 KiB rounded to 128 KiB (src/capture/live.ts):
  // 32 MiB are 256 packets of slack while the event loop is busy.
  const kernelRing = live ? Math.min(32 * 1024 * 1024, Math.floor(total / 8)) : 0;
  const queuePool = Math.floor(total / 8);
  const queue = Math.min(consumerQueue, queuePool);
  const engine = total - 2 * kernelRing - queuePool;
  if (engine < MIN_MEMORY_BUDGET) throw new UsageError(`--memory-budget ${total} leaves the engine less than ${MIN_MEMORY_BUDGET} bytes`);
  if (queue < 64 * 1024) throw new UsageError('--consumer-queue must be at least 64KiB');
  return { total, kernelRing, kernelRings: 2 * kernelRing, queuePool, consumerQueue: queue, maxConsumers: Math.floor(queuePool / queue), engine };
}
