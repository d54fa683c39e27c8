// GET /stats: what the node captured and what became of it, every loss by reason.
import type { CaptureHandleStats } from '../src/capture/capture-handles.js';
import type { NodePipeline } from '../src/node/pipeline.js';
import type { TargetRegistry } from '../src/node/targets.js';
import type { Hub } from './hub.js';
import { getHeapSpaceStatistics } from 'node:v8';
import type { MemorySplit } from './memory-split.js';
import { TAPPER_VERSION } from './version.js';
import type { PacketHub } from './packet-hub.js';

export interface StatsSources {
  nodeName: string;
  source: 'live' | 'file';
  capture: () => CaptureHandleStats | FileSourceStats;
  /** Mesh capture (live only): the pods entered, those waiting, and why it cannot run if so. */
  mesh: () => Record<string, unknown> | null;
  pipeline: NodePipeline;
  hub: Hub;
  packets: PacketHub;
  targets: TargetRegistry;
  memory: MemorySplit;
}

export interface FileSourceStats {
  file: string;
  pace: string;
  state: 'waiting for a consumer' | 'playing' | 'done' | 'failed';
  packets: number;
  bytes: number;
  error?: string;
  /** Kept for the same shape as live capture: a file has no kernel ring. */
  kernelBufferBytes: 0;
}

export function statsReport(s: StatsSources): Record<string, unknown> {
  const capture = s.capture();
  const consumers = s.hub.open.map((c) => c.toJSON());
  const packetStreams = s.packets.open.map((p) => p.toJSON());
  const queuedBytes = [...s.hub.open, ...s.packets.open.map((p) => p.consumer)].reduce((sum, c) => sum + c.queuedBytes, 0);
  const memory = process.memoryUsage();
  // The engine's part of the daemon's budget is memory.engine; of it, the engine's own budget
  // lets buffers, connections and pending calls hold heldLimit, the rest being Node's runtime
  // (src/memory/budget.ts, docs/memory.md).
  const held = s.pipeline.engine.memory.snapshot();
  const engine = { ...held, limit: s.memory.engine, heldLimit: held.limit };
  return {
    version: TAPPER_VERSION,
    node: s.nodeName,
    source: s.source,
    time: new Date().toISOString(),
    capture,
    mesh: s.mesh(),
    engine: s.pipeline.engine.stats.toJSON(),
    entries: s.hub.entries,
    connections: s.pipeline.engine.liveConnections,
    targets: { sessions: s.targets.sessionIds.length, localPods: s.targets.localPodIps().size, serviceIps: s.targets.serviceIps().size },
    memory: {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      // Per V8 heap space, used and physically committed bytes: where a growing heap grows.
      heapSpaces: Object.fromEntries(getHeapSpaceStatistics().map((h) => [h.space_name, { used: h.space_used_size, committed: h.physical_space_size }])),
      kernelBuffers: capture.kernelBufferBytes,
      consumerQueues: queuedBytes,
      budget: {
        limit: s.memory.total,
        used: engine.used + capture.kernelBufferBytes + queuedBytes,
        engine,
        kernelBuffers: { used: capture.kernelBufferBytes, limit: s.memory.kernelRings },
        consumerQueues: { used: queuedBytes, limit: s.memory.queuePool, perConsumer: s.memory.consumerQueue, maxConsumers: s.memory.maxConsumers },
      },
    },
    consumers,
    packetStreams,
    sessions: s.hub.sessionTotals(),
  };
}
