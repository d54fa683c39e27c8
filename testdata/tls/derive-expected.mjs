// Derives handshakes.expected.json from tshark's dissection of handshakes.pcap, not from our
// engine: per TCP stream, the ClientHello's SNI, ALPN and highest offered version (the
// supported_versions extension, else the legacy version field), and the ServerHello's
// chosen version and cipher suite by name. record.sh runs it after recording; the test runs
// it again and compares (test/protocols/tls.test.ts).
// Usage: node testdata/tls/derive-expected.mjs [capture] [port]   (JSON on stdout)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function deriveExpected(capture, port = 18443) {
  const tshark = (filter, fields, extra = []) =>
    execFileSync('tshark', ['-r', capture, '-d', `tcp.port==${port},tls`, '-Y', filter, ...extra, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').filter(Boolean).map((l) => l.split('\t'));
  const version = (hex) => ({ '0x0304': '1.3', '0x0303': '1.2', '0x0302': '1.1', '0x0301': '1.0' })[hex] ?? hex;
  const highest = (list, fallback) => version((list ? list.split(',') : [fallback]).sort().at(-1));
  const hellos = tshark('tls.handshake.type == 1', ['tcp.stream', 'tls.handshake.extensions_server_name', 'tls.handshake.extensions_alpn_str', 'tls.handshake.version', 'tls.handshake.extensions.supported_version']);
  const servers = new Map(tshark('tls.handshake.type == 2', ['tcp.stream', 'tls.handshake.version', 'tls.handshake.extensions.supported_version']).map((r) => [r[0], r]));
  // Cipher names as tshark shows them ("Cipher Suite: TLS_AES_256_GCM_SHA384 (0x1302)"), one per ServerHello, in stream order.
  const verbose = execFileSync('tshark', ['-r', capture, '-d', `tcp.port==${port},tls`, '-Y', 'tls.handshake.type == 2', '-O', 'tls', '-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const ciphers = [...verbose.matchAll(/Cipher Suite: (\S+) \(0x[0-9a-f]{4}\)/g)].map((m) => m[1]);
  const serverOrder = [...servers.keys()];
  return hellos.map(([stream, sni, alpn, legacy, supported]) => {
    const [, serverLegacy, serverSupported] = servers.get(stream) ?? [];
    return {
      sni: sni || null,
      alpn: alpn ? alpn.split(',') : null,
      version: highest(supported, legacy),
      responseVersion: version(serverSupported || serverLegacy),
      cipher: ciphers[serverOrder.indexOf(stream)] ?? null,
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const capture = process.argv[2] ?? fileURLToPath(new URL('handshakes.pcap', import.meta.url));
  const entries = deriveExpected(capture, Number(process.argv[3] ?? 18443));
  process.stdout.write(`[\n${entries.map((e) => `  ${JSON.stringify(e)}`).join(',\n')}\n]\n`);
}
