// Every dissector, in the order the engine tries them on a new connection. Most specific
// first: a detector that could claim another protocol's bytes goes later.
import type { TcpDissector, UdpDissector } from './types.js';

export const tcpDissectors: readonly TcpDissector[] = [
];

export const udpDissectors: readonly UdpDissector[] = [
];

export function tcpDissectorByName(name: string): TcpDissector | undefined {
  return tcpDissectors.find((d) => d.name === name);
}
