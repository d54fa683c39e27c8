// Helper of record.sh: a node TLS server on 127.0.0.1:18443 that answers four handshakes
// and exits, and the first client (node's tls.connect, TLS 1.3, SNI and ALPN).
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

const dir = process.argv[2];
let served = 0;
const server = tls.createServer(
  { key: readFileSync(`${dir}/key.pem`), cert: readFileSync(`${dir}/cert.pem`), ALPNProtocols: ['h2', 'http/1.1'] },
  (socket) => {
    socket.end('hello over tls\n');
    if (++served === 4) server.close();
  },
);
server.listen(18443, '127.0.0.1', () => {
  const c = tls.connect({ host: '127.0.0.1', port: 18443, servername: 'api.shop.example', ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false });
  c.on('data', () => {});
  c.on('end', () => c.end());
});
setTimeout(() => process.exit(1), 15000).unref();
