// One captured frame as a capture source yields it. Sources (file reader, live capture)
// may reuse `data`'s memory for the next frame: consumers copy whatever they keep.

/** Link-layer header types, numbered as in the tcpdump LINKTYPE_ registry. */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4 or IPv6, version taken from the first nibble
  LOOP: 108, // OpenBSD loopback: 4-byte address family in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface Frame {
  /** Capture time in microseconds since the Unix epoch (fits a double exactly for centuries). */
  tsMicros: number;
  linkType: number;
  /** The captured bytes (possibly fewer than `originalLength` when the capture used a snaplen). */
  data: Buffer;
  originalLength: number;
  /** Byte offset of this frame's record in its file, for error messages; -1 for live capture. */
  fileOffset: number;
}
