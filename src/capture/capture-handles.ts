// Live capture whose filter follows the targets. `pcap` 3.1.0 cannot change a handle's BPF
// filter, so a change opens a new handle first and closes the old one only after an
// overlap, during which both deliver: nothing is lost in the switch, and the packets both
// saw are dropped as copies downstream (src/node/packet-dedup.ts; for TCP reassembly would
// trim them anyway). The overlap outlasts the time a packet waits in the old handle's ring
// in immediate mode (it is read on the next poll), with a wide margin.
//
// libpcap's counters are per handle; closed handles' final counts are kept, so the totals
// only grow. Each open handle holds a kernel ring of `bufferBytes`, counted in the memory
// figures.

import { openLiveCapture, type LiveCapture } from './live.js';
import type { Frame } from './frame.js';

export const OVERLAP_MS = 500;

export interface CaptureHandleStats {
  interface: string;
  filter: string | null;
  /** Open handles right now (two during a switch). */
  handles: number;
  handlesOpened: number;
  /** libpcap: packets received, dropped by the kernel (ring full), dropped by the interface. */
  received: number;
  droppedKernel: number;
  droppedInterface: number;
  /** Frames delivered to the engine, and their bytes on the wire. */
  packets: number;
  bytes: number;
  kernelBufferBytes: number;
  filterErrors: number;
}

interface OpenHandle {
  capture: LiveCapture;
  filter: string;
}

export class CaptureHandles {
  private current: OpenHandle | null = null;
  private readonly closing = new Set<OpenHandle>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closedTotals = { received: 0, droppedKernel: 0, droppedInterface: 0 };
  private packets = 0;
  private bytes = 0;
  private opened = 0;
  private filterErrors = 0;

  constructor(
    readonly device: string,
    readonly bufferBytes: number,
    private readonly onFrame: (frame: Frame) => void,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Checks that capture can run at all (the device exists, we may open it), so a daemon
   * that could never capture fails at start instead of serving nothing.
   */
  probe(): void {
    const capture = openLiveCapture({ device: this.device, filter: 'less 1', bufferSize: 64 * 1024 }, () => {});
    capture.close();
  }

  /** Captures with `filter` from now on (null: capture nothing). Throws only on the first open. */
  setFilter(filter: string | null): void {
    if (filter === (this.current?.filter ?? null)) return;
    let next: OpenHandle | null = null;
    if (filter !== null) {
      try {
        next = { capture: openLiveCapture({ device: this.device, filter, bufferSize: this.bufferBytes }, this.deliver), filter };
        this.opened += 1;
      } catch (err) {
        // Keep what runs: a filter libpcap refuses (too long, say) must not stop capture.
        this.filterErrors += 1;
        this.log(`capture filter refused, keeping the previous one: ${(err as Error).message}`);
        return;
      }
    }
    const old = this.current;
    this.current = next;
    if (old !== null) this.closeLater(old);
  }

  stats(): CaptureHandleStats {
    const totals = { ...this.closedTotals };
    const open = [...this.closing, ...(this.current ? [this.current] : [])];
    for (const h of open) {
      const s = h.capture.stats();
      totals.received += s.received;
      totals.droppedKernel += s.dropped;
      totals.droppedInterface += s.interfaceDropped;
    }
    return {
      interface: this.device,
      filter: this.current?.filter ?? null,
      handles: open.length,
      handlesOpened: this.opened,
      ...totals,
      packets: this.packets,
      bytes: this.bytes,
      kernelBufferBytes: open.length * this.bufferBytes,
      filterErrors: this.filterErrors,
    };
  }

  /** Closes every handle now (shutdown). */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const h of [...this.closing]) this.closeNow(h);
    if (this.current) this.closeNow(this.current);
    this.current = null;
  }

  private readonly deliver = (frame: Frame): void => {
    this.packets += 1;
    this.bytes += frame.originalLength;
    this.onFrame(frame);
  };

  private closeLater(handle: OpenHandle): void {
    this.closing.add(handle);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.closeNow(handle);
    }, OVERLAP_MS);
    this.timers.add(timer);
  }

  private closeNow(handle: OpenHandle): void {
    const s = handle.capture.stats();
    this.closedTotals.received += s.received;
    this.closedTotals.droppedKernel += s.dropped;
    this.closedTotals.droppedInterface += s.interfaceDropped;
    handle.capture.close();
    this.closing.delete(handle);
  }
}
