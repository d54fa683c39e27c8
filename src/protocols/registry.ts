// Every dissector, in the order the engine tries them on a new connection. Most specific
// first: a detector that could claim another protocol's bytes goes later.
import type { TcpDissector, UdpDissector } from './types.js';
import { tlsDissector } from './tls/index.js';
import { kafkaDissector } from './kafka/index.js';
import { dnsTcpDissector, dnsUdpDissector } from './dns/index.js';
import { redisDissector } from './redis/index.js';
import { amqpDissector } from './amqp/index.js';
import { http2Dissector } from './http2/dissector.js';
import { http1Dissector } from './http1/dissector.js';

export const tcpDissectors: readonly TcpDissector[] = [
  tlsDissector,
  kafkaDissector,
  redisDissector,
  amqpDissector,
  dnsTcpDissector,
  http2Dissector,
  http1Dissector,
];

export const udpDissectors: readonly UdpDissector[] = [
  dnsUdpDissector,
];

export function tcpDissectorByName(name: string): TcpDissector | undefined {
  return tcpDissectors.find((d) => d.name === name);
}
