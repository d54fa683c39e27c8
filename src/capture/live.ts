// Live capture through libpcap, used only by the tapper daemon: the project's own small
// Node-API addon (native/capture.c, built next to the bundle as capture.node by
// scripts/build.mjs), loaded on first use, so `kubectl tap read` and most tests never load it.
// Why not the `pcap` npm package: native/capture.c says (a use after free that aborted the
// tapper, and handles that stayed open after close()).
//
// buffer_timeout 0 puts libpcap in immediate mode: with a timeout, packets wait in the kernel
// ring until a block fills or the timeout passes.
//
// Packets arrive in batches, copied by the addon into one buffer of ours, so the Frame (one
// object, reused) and its `data` are valid only during the synchronous onFrame call, as the
// Frame contract says.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { LinkType, type Frame } from './frame.js';

export interface LiveCaptureOptions {
  /** Interface name, e.g. "eth0", "lo", or "any". */
  device: string;
  /** BPF filter expression (pcap-filter(7)); empty for everything. */
  filter: string;
  /** Bytes captured per packet (default 65535, the largest IP packet; see DEFAULT_SNAPLEN). */
  snaplen?: number;
  /** Kernel ring buffer size in bytes (default 16 MiB). */
  bufferSize?: number;
  /** 0 (default): immediate mode; otherwise libpcap's read timeout in ms. */
  timeoutMs?: number;
  /**
   * A network namespace to open the handle in (a path such as /proc/PID/ns/net or
   * /run/netns/NAME; needs SYS_ADMIN, and SYS_PTRACE for another process's link). The handle
   * keeps capturing there; the process stays in its own. Default: the process's namespace.
   */
  netns?: string;
}

export interface LiveCaptureStats {
  /** Packets libpcap received (platform-dependent: may include filtered-out ones). */
  received: number;
  /** Packets the kernel dropped because the buffer was full: we were too slow. */
  dropped: number;
  /** Packets the interface or driver dropped (often unsupported: 0). */
  interfaceDropped: number;
  /** Frames handed to onFrame. */
  delivered: number;
}

export interface LiveCapture {
  readonly linkType: number;
  close(): void;
  stats(): LiveCaptureStats;
}

/** libpcap's DLT_ numbers that differ from the LINKTYPE_ registry's (pcap-linktype(7)). */
const LINK_TYPE_BY_DLT: Record<number, number> = { 12: LinkType.RAW, 14: LinkType.RAW };

/**
 * In immediate mode libpcap uses TPACKET_V2, whose ring has one fixed slot per packet, sized
 * from the snaplen when the interface offloads segmentation (veths do: packets of up to
 * 64 KiB). With libpcap's 262144 a 16 MiB ring held 32 packets, and a pause of the event
 * loop of a few ms dropped packets in the kernel (measured: 32 of 4016 on 500 Redis SET/GET
 * pairs between two pod namespaces, 0 with 65535). 65535 still holds any IP packet whole.
 */
const DEFAULT_SNAPLEN = 65535;
const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

/** Bytes of the batch buffer a wake-up fills: thousands of small packets, at least 16 of 64 KiB. */
const BATCH_BYTES = 1024 * 1024;
const PACKET_HEADER_BYTES = 16;

interface NativeHandle {
  readonly linkType: number;
  close(): void;
  stats(): { received: number; dropped: number; interfaceDropped: number };
}

interface NativeCapture {
  open(device: string, filter: string, snaplen: number, bufferBytes: number, timeoutMs: number,
    batch: Buffer, onBatch: (count: number, bytes: number) => void, netns: string): NativeHandle;
  libpcapVersion: string;
}

/** Where capture.node is: next to the bundle (dist/, the image's /app), or in dist/ from the sources. */
function addonPath(): string {
  const override = process.env.KUBECTL_TAP_CAPTURE_ADDON;
  if (override) return override;
  const candidates = [new URL('./capture.node', import.meta.url), new URL('../../dist/capture.node', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

let native: NativeCapture | undefined;

/** The addon, loaded once; throws with the path when it was never built (no libpcap-dev or compiler). */
export function loadCaptureAddon(): NativeCapture {
  if (native === undefined) {
    const path = addonPath();
    if (!existsSync(path)) throw new Error(`the capture addon is not built (${path}): run \`make build\` with libpcap-dev and a C compiler`);
    native = createRequire(import.meta.url)(path) as NativeCapture;
  }
  return native;
}

export function openLiveCapture(options: LiveCaptureOptions, onFrame: (frame: Frame) => void): LiveCapture {
  const addon = loadCaptureAddon();
  const batch = Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, PACKET_HEADER_BYTES + (options.snaplen ?? DEFAULT_SNAPLEN)));
  const frame: Frame = { tsMicros: 0, linkType: -1, data: Buffer.alloc(0), originalLength: 0, fileOffset: -1 };
  let delivered = 0;
  let closed = false;
  const onBatch = (count: number, bytes: number): void => {
    let at = 0;
    for (let i = 0; i < count && at < bytes && !closed; i++) {
      // Host byte order as the addon wrote it (little-endian on every platform we build for).
      const caplen = batch.readUInt32LE(at + 8);
      frame.tsMicros = batch.readUInt32LE(at) * 1_000_000 + batch.readUInt32LE(at + 4);
      frame.originalLength = batch.readUInt32LE(at + 12);
      frame.data = batch.subarray(at + PACKET_HEADER_BYTES, at + PACKET_HEADER_BYTES + caplen);
      at += (PACKET_HEADER_BYTES + caplen + 3) & ~3;
      delivered++;
      onFrame(frame);
    }
  };
  const handle = addon.open(options.device, options.filter, options.snaplen ?? DEFAULT_SNAPLEN,
    options.bufferSize ?? DEFAULT_BUFFER_BYTES, options.timeoutMs ?? 0, batch, onBatch, options.netns ?? '');
  const linkType = LINK_TYPE_BY_DLT[handle.linkType] ?? handle.linkType;
  frame.linkType = linkType;
  let last = { received: 0, dropped: 0, interfaceDropped: 0 };
  return {
    linkType,
    close() {
      if (closed) return;
      last = handle.stats();
      closed = true;
      handle.close(); // synchronous: the socket and its kernel ring are gone when this returns
    },
    stats() {
      if (!closed) last = handle.stats();
      return { ...last, delivered };
    },
  };
}
