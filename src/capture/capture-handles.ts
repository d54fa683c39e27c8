// Live capture whose filter follows the targets. A change opens a new handle first and closes
// the old one only after an overlap: nothing is lost in the switch. (pcap_setfilter on the live
// handle would apply the new filter to the packets already in the ring too, losing the last
// packets of a target that just left.)
//
// Only one handle delivers at a time, the oldest open one. A newer handle holds what it
// captures (copied) until the older one is closed, then hands it on in order, and delivers
// from then on. Letting both deliver at once interleaves two streams of the same
// connection out of order: the new handle's ACK for a segment the old one had not yet
// delivered made reassembly declare that segment lost (measured: 2 gaps, 475 bytes, and a
// response held back, in one run of 60 calls over 3 changes). This way the engine sees the
// old handle's packets up to its close, then the new handle's since its open; what both saw
// is dropped as copies downstream (src/node/packet-dedup.ts, whose window outlasts the
// overlap). The overlap outlasts the time a packet waits in the old handle's ring in
// immediate mode (it is read on the next poll), with a wide margin.
//
// libpcap's counters are per handle; closed handles' final counts are kept, so the totals
// only grow. Each open handle holds a kernel ring of `bufferBytes`, counted in the memory
// figures; a held-back overlap is bounded by the same size, and what does not fit is
// dropped and counted (overlapDropped).

import { openLiveCapture, type LiveCapture } from './live.js';
import type { Frame } from './frame.js';

export const OVERLAP_MS = 250;

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
  /** Frames a newer handle could not hold back during an overlap (over its bound). */
  overlapDropped: number;
}

interface OpenHandle {
  capture: LiveCapture | null;
  filter: string;
  /** Frames held while an older handle still delivers; null once this one delivers. */
  held: Frame[] | null;
  heldBytes: number;
  closeScheduled: boolean;
}

export class CaptureHandles {
  /** Open handles, oldest first; the first one delivers. */
  private readonly open: OpenHandle[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closedTotals = { received: 0, droppedKernel: 0, droppedInterface: 0 };
  private packets = 0;
  private bytes = 0;
  private opened = 0;
  private filterErrors = 0;
  private overlapDropped = 0;
  private wanted: string | null = null;

  constructor(
    readonly device: string,
    readonly bufferBytes: number,
    private readonly onFrame: (frame: Frame) => void,
    private readonly log: (line: string) => void,
    /** libpcap's block timeout (0: immediate mode); OVERLAP_MS must outlast it by far. */
    private readonly waitMs = 0,
  ) {}

  /**
   * Checks that capture can run at all (the device exists, we may open it), so a daemon
   * that could never capture fails at start instead of serving nothing.
   */
  probe(): void {
    const capture = openLiveCapture({ device: this.device, filter: 'less 1', bufferSize: 64 * 1024 }, () => {});
    capture.close();
  }

  /** Captures with `filter` from now on (null: capture nothing). */
  setFilter(filter: string | null): void {
    if (filter === this.wanted) return;
    let next: OpenHandle | null = null;
    if (filter !== null) {
      next = { capture: null, filter, held: this.open.length > 0 ? [] : null, heldBytes: 0, closeScheduled: false };
      const handle = next;
      try {
        handle.capture = openLiveCapture({ device: this.device, filter, bufferSize: this.bufferBytes, timeoutMs: this.waitMs }, (frame) => this.receive(handle, frame));
        this.opened += 1;
      } catch (err) {
        // Keep what runs: a filter libpcap refuses (too long, say) must not stop capture.
        this.filterErrors += 1;
        this.log(`capture filter refused, keeping the previous one: ${(err as Error).message}`);
        return;
      }
    }
    this.wanted = filter;
    for (const h of this.open) if (!h.closeScheduled) this.closeLater(h);
    if (next !== null) this.open.push(next);
  }

  stats(): CaptureHandleStats {
    const totals = { ...this.closedTotals };
    for (const h of this.open) {
      const s = h.capture!.stats();
      totals.received += s.received;
      totals.droppedKernel += s.dropped;
      totals.droppedInterface += s.interfaceDropped;
    }
    return {
      interface: this.device,
      filter: this.wanted,
      handles: this.open.length,
      handlesOpened: this.opened,
      ...totals,
      packets: this.packets,
      bytes: this.bytes,
      kernelBufferBytes: this.open.length * this.bufferBytes,
      filterErrors: this.filterErrors,
      overlapDropped: this.overlapDropped,
    };
  }

  /** Closes every handle now (shutdown), handing on what newer ones held. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    while (this.open.length > 0) this.closeNow(this.open[0]!);
  }

  private receive(handle: OpenHandle, frame: Frame): void {
    if (handle.held === null) {
      this.deliver(frame);
      return;
    }
    if (handle.heldBytes + frame.data.length > this.bufferBytes) {
      this.overlapDropped += 1;
      return;
    }
    handle.held.push({ ...frame, data: Buffer.from(frame.data) });
    handle.heldBytes += frame.data.length;
  }

  private deliver(frame: Frame): void {
    this.packets += 1;
    this.bytes += frame.originalLength;
    this.onFrame(frame);
  }

  private closeLater(handle: OpenHandle): void {
    handle.closeScheduled = true;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.closeNow(handle);
    }, OVERLAP_MS);
    this.timers.add(timer);
  }

  private closeNow(handle: OpenHandle): void {
    const s = handle.capture!.stats();
    this.closedTotals.received += s.received;
    this.closedTotals.droppedKernel += s.dropped;
    this.closedTotals.droppedInterface += s.interfaceDropped;
    handle.capture!.close();
    const i = this.open.indexOf(handle);
    if (i >= 0) this.open.splice(i, 1);
    // The oldest remaining handle takes over: first what it held, in order, then live.
    const first = this.open[0];
    if (first !== undefined && first.held !== null) {
      const held = first.held;
      first.held = null;
      first.heldBytes = 0;
      for (const frame of held) this.deliver(frame);
    }
  }
}
