// One --memory-budget bounds the whole daemon: the kernel rings of the capture handles (two
// during a change of targets), the consumers' queues, and the engine's own budget
// (src/memory/budget.ts), which gets what is left. At the default 256 MiB: rings 2 x 16 MiB,
// queues 32 MiB, engine 192 MiB.
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
  // In block mode (--capture-wait, the default) the ring holds packets at their size: 16 MiB
  // are about half a second of 5,000 small calls/s or of 1,000 calls/s with 15 KB bodies
  // (bench/live.ts), slack enough while the event loop is busy, and every page of it is
  // resident once the ring has wrapped. Immediate mode's one-packet slots fit 128 in it.
  const kernelRing = live ? Math.min(16 * 1024 * 1024, Math.floor(total / 8)) : 0;
  const queuePool = Math.floor(total / 8);
  const queue = Math.min(consumerQueue, queuePool);
  const engine = total - 2 * kernelRing - queuePool;
  if (engine < MIN_MEMORY_BUDGET) throw new UsageError(`--memory-budget ${total} leaves the engine less than ${MIN_MEMORY_BUDGET} bytes`);
  if (queue < 64 * 1024) throw new UsageError('--consumer-queue must be at least 64KiB');
  return { total, kernelRing, kernelRings: 2 * kernelRing, queuePool, consumerQueue: queue, maxConsumers: Math.floor(queuePool / queue), engine };
}
