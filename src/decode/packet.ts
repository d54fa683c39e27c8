// The decoded view of one frame that the transport stages consume. `payload` is a view on
// the frame's bytes (no copy): valid only until the next frame is read.

export interface Packet {
  tsMicros: number;
  ipVersion: 4 | 6;
  srcIp: string;
  dstIp: string;
  transport: 'tcp' | 'udp';
  srcPort: number;
  dstPort: number;
  /** TCP only (zero for UDP). */
  seq: number;
  ack: number;
  /** TCP flag bits as in the header: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10. */
  flags: number;
  payload: Buffer;
}

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;
