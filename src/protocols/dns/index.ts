// The DNS dissectors as the registry sees them: 'dns' over UDP and 'dns-tcp'.
export { dnsUdpDissector } from './udp.js';
export { dnsTcpDissector } from './tcp.js';
