// The TLS dissector as the registry sees it: handshakes, and connections joined after theirs.
import type { Probe, TcpDissector, Verdict } from '../types.js';
import { detectTlsMidstream } from './midstream-detect.js';
import { TlsMidstreamParser } from './midstream.js';
import { detectTls, TlsParser } from './parser.js';

function detect(probe: Probe): Verdict {
  const hello = detectTls(probe);
  if (hello !== 'no' || !probe.midstream) return hello;
  return detectTlsMidstream(probe);
}

export const tlsDissector: TcpDissector = {
  name: 'tls',
  detect,
  create: (ctx) => (ctx.midstream ? new TlsMidstreamParser(ctx) : new TlsParser(ctx)),
};
