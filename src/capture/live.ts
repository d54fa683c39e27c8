// Live capture through the `pcap` package (libpcap), used only by the tapper daemon, so it
// is loaded lazily (a synchronous require on first use, as it is a CommonJS native addon):
// `kubectl tap read` and the tests never load it.
// Only the session is used; the package's decoders and TCPTracker are not (src/decode and
// src/tcp do that work, bounded and counted).
//
// buffer_timeout 0 puts libpcap in immediate mode: with the default (1000 ms) packets wait
// in the kernel buffer for up to a second before they are delivered.
//
// libpcap copies every packet into the same buffer, so the Frame (one object, reused) and
// its `data` are valid only during the synchronous onFrame call, as the Frame contract says.

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
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

/**
 * In immediate mode libpcap uses TPACKET_V2, whose ring has one fixed slot per packet, sized
 * from the snaplen when the interface offloads segmentation (veths do: packets of up to
 * 64 KiB). With libpcap's 262144 a 16 MiB ring held 32 packets, and a pause of the event
 * loop of a few ms dropped packets in the kernel (measured: 32 of 4016 on 500 Redis SET/GET
 * pairs between two pod namespaces, 0 with 65535). 65535 still holds any IP packet whole.
 */
const DEFAULT_SNAPLEN = 65535;
const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

/**
 * pcap 3.1.0's close() only breaks libpcap's loop: the handle (its socket and kernel ring) is
 * freed when the next packet is dispatched, which on a quiet filter never comes (measured:
 * 20 opened and closed handles left 20 packet sockets open). So a handle on `any` or `lo`
 * also matches one datagram of its own, a random cookie sent to the discard port on
 * loopback, and close() sends it. Other devices free a closed handle on its next packet.
 */
const WAKE_PORT = 9;

function wakeable(device: string): boolean {
  return device === 'any' || device === 'lo';
}

function withWakeClause(filter: string, cookie: number): string {
  const wake = `(udp and dst host 127.0.0.1 and dst port ${WAKE_PORT} and udp[8:4] = ${cookie})`;
  return filter.trim() === '' ? '' : `(${filter}) or ${wake}`;
}

function sendWake(cookie: number): void {
  const socket = dgram.createSocket('udp4');
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(cookie);
  socket.on('error', () => socket.close());
  socket.send(payload, WAKE_PORT, '127.0.0.1', () => socket.close());
}

export function openLiveCapture(options: LiveCaptureOptions, onFrame: (frame: Frame) => void): LiveCapture {
  const loadNative = createRequire(import.meta.url);
  const pcap = loadNative('pcap') as typeof import('pcap');
  const cookie = wakeable(options.device) ? randomInt(1, 2 ** 31) : 0;
  const session = pcap.createSession(options.device, {
    filter: cookie === 0 ? options.filter : withWakeClause(options.filter, cookie),
    snap_length: options.snaplen ?? DEFAULT_SNAPLEN,
    buffer_size: options.bufferSize ?? DEFAULT_BUFFER_BYTES,
    buffer_timeout: options.timeoutMs ?? 0,
    promiscuous: false,
  });
  // The package only names the link types it knows; anything else fails in its constructor.
  const linkType = LINK_TYPE_BY_NAME[session.link_type] ?? -1;
  const frame: Frame = { tsMicros: 0, linkType, data: Buffer.alloc(0), originalLength: 0, fileOffset: -1 };
  let delivered = 0;
  session.on('packet', (packet: { buf: Buffer; header: Buffer }) => {
    if (closed) return; // drained by close() below: this handle's successor delivers them
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
      // pcap 3.1.0 frees a closed handle inside its dispatch, and when that dispatch runs from
      // its poll handler it deletes the async resource it is running in (a use after free,
      // seen as glibc's "corrupted double-linked list" once in three runs of the tapper suite).
      // So poll events no longer dispatch, and the handle is drained from a timer of ours
      // until libpcap reports the break (-2) and the package frees it outside that scope.
      const native = (session as unknown as { session: { read_callback: () => void; dispatch(b: Buffer, h: Buffer): number } }).session;
      const buffers = session as unknown as { buf: Buffer; header: Buffer };
      native.read_callback = () => {};
      session.close();
      if (cookie !== 0) sendWake(cookie);
      const drain = () => {
        let result: number;
        try {
          result = native.dispatch(buffers.buf, buffers.header);
        } catch {
          return; // already freed
        }
        if (result !== -2) setTimeout(drain, 10).unref();
      };
      setTimeout(drain, 0).unref();
    },
    stats() {
      const s = closed ? { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 } : session.stats();
      return { received: s.ps_recv, dropped: s.ps_drop, interfaceDropped: s.ps_ifdrop, delivered };
    },
  };
}
