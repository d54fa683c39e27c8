// Live capture through the `pcap` package (libpcap), used only by the tapper daemon, so it
// is loaded lazily (a synchronous require on first use, as it is a CommonJS native addon):
// `kubectl tap read` and the tests never load it.
// Only the session is used; the package's decoders and TCPTracker are not (src/decode and
// src/tcp do that work, bounded and counted).
//
// buffer_timeout 20 ms, not immediate mode (0): immediate mode makes libpcap use TPACKET_V2,
// whose ring holds one fixed frame per packet, sized for the snaplen, so the 16 MiB ring held
// only a few dozen packets and a short stall dropped them (bench/live.ts: kernel drops from
// 250 calls/s on a busy machine). TPACKET_V3 packs packets into blocks (0 drops up to 5,000
// calls/s in the same run); a block is handed over when full or after 20 ms, the latency
// this adds to an entry. The default (1000 ms) would hold packets for up to a second.
//
// libpcap copies every packet into the same buffer, so the Frame (one object, reused) and
// its `data` are valid only during the synchronous onFrame call, as the Frame contract says.

import { createRequire } from 'node:module';
import { LinkType, type Frame } from './frame.js';

export interface LiveCaptureOptions {
  /** Interface name, e.g. "eth0", "lo", or "any". */
  device: string;
  /** BPF filter expression (pcap-filter(7)); empty for everything. */
  filter: string;
  /** Bytes captured per packet (default 262144, libpcap's maximum). */
  snaplen?: number;
  /** Kernel ring buffer size in bytes (default 16 MiB). */
  bufferSize?: number;
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

const LINK_TYPE_BY_NAME: Record<string, number> = {
  LINKTYPE_NULL: LinkType.NULL,
  LINKTYPE_ETHERNET: LinkType.ETHERNET,
  LINKTYPE_RAW: LinkType.RAW,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
};

const DEFAULT_SNAPLEN = 262144;
const BLOCK_TIMEOUT_MS = 20;
const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

export function openLiveCapture(options: LiveCaptureOptions, onFrame: (frame: Frame) => void): LiveCapture {
  const loadNative = createRequire(import.meta.url);
  const pcap = loadNative('pcap') as typeof import('pcap');
  const session = pcap.createSession(options.device, {
    filter: options.filter,
    snap_length: options.snaplen ?? DEFAULT_SNAPLEN,
    buffer_size: options.bufferSize ?? DEFAULT_BUFFER_BYTES,
    buffer_timeout: BLOCK_TIMEOUT_MS,
    promiscuous: false,
  });
  // The package only names the link types it knows; anything else fails in its constructor.
  const linkType = LINK_TYPE_BY_NAME[session.link_type] ?? -1;
  const frame: Frame = { tsMicros: 0, linkType, data: Buffer.alloc(0), originalLength: 0, fileOffset: -1 };
  let delivered = 0;
  session.on('packet', (packet: { buf: Buffer; header: Buffer }) => {
    // Header as libpcap's pcap_pkthdr, host byte order: tv_sec, tv_usec, caplen, len (32 bits each).
    const header = packet.header;
    const caplen = header.readUInt32LE(8);
    frame.tsMicros = header.readUInt32LE(0) * 1_000_000 + header.readUInt32LE(4);
    frame.data = packet.buf.subarray(0, caplen);
    frame.originalLength = header.readUInt32LE(12);
    delivered++;
    onFrame(frame);
  });
  let closed = false;
  return {
    linkType,
    close() {
      if (closed) return;
      closed = true;
      session.close();
    },
    stats() {
      const s = closed ? { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 } : session.stats();
      return { received: s.ps_recv, dropped: s.ps_drop, interfaceDropped: s.ps_ifdrop, delivered };
    },
  };
}
