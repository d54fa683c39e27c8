// Live capture on the node: the capture filter follows the targets (this node's target pods
// and the Services' ClusterIPs), and the engine's clock follows the wall clock, so idle
// connections end and their pending calls come out even when no packet arrives.
import { CaptureHandles } from '../src/capture/capture-handles.js';
import { bpfForHosts } from '../src/node/bpf.js';
import type { NodePipeline } from '../src/node/pipeline.js';
import type { TargetRegistry } from '../src/node/targets.js';

const TICK_MS = 1000;

export class LiveSource {
  readonly handles: CaptureHandles;
  private readonly ticker: NodeJS.Timeout;

  constructor(
    device: string,
    kernelRingBytes: number,
    captureWaitMs: number,
    private readonly pipeline: NodePipeline,
    private readonly targets: TargetRegistry,
    private readonly ownPort: number,
    log: (line: string) => void,
  ) {
    this.handles = new CaptureHandles(device, kernelRingBytes, (frame) => pipeline.handleFrame(frame), log, captureWaitMs);
    // Fails here, at start, when this node cannot capture at all.
    this.handles.probe();
    // Synchronous: when PUT /targets answers, the new handle already captures.
    targets.onChange(() => this.follow());
    this.ticker = setInterval(() => {
      targets.expire();
      pipeline.tick(Date.now() * 1000);
    }, TICK_MS);
  }

  private follow(): void {
    const services = this.targets.serviceIps();
    this.pipeline.setServices(services);
    this.handles.setFilter(bpfForHosts([...this.targets.localPodIps(), ...services.keys()], this.ownPort));
  }

  stop(): void {
    clearInterval(this.ticker);
    this.handles.close();
  }
}
