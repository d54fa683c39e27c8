// The TLS-handshake dissector as the registry sees it.
import type { TcpDissector } from '../types.js';
import { detectTls, TlsParser } from './parser.js';

export const tlsDissector: TcpDissector = {
  name: 'tls',
  detect: detectTls,
  create: (ctx) => new TlsParser(ctx),
};
