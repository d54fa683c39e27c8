// Helper of record.sh: the node side of the mixed capture. Servers: HTTP on 18080, TLS on
// 18444 (certificate dir in argv[2]), and three noise servers that speak none of the
// dissected protocols: 17001 echoes random bytes, 17002 is SSH-like (banner exchange, then
// binary), 17003 is a line protocol in the style of SMTP/POP3. Clients: two HTTP GETs, one
// TLS handshake, and each noise exchange.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

const dir = process.argv[2];
const listen = (srv, port) => new Promise((ok) => srv.listen(port, '127.0.0.1', ok));
const servers = [];

const web = http.createServer((req, res) => res.end(`you asked for ${req.url}\n`));
const secure = tls.createServer({ key: readFileSync(`${dir}/key.pem`), cert: readFileSync(`${dir}/cert.pem`) }, (s) => s.end('hi\n'));
const random = net.createServer((s) => s.on('data', (d) => s.write(d)).on('end', () => s.end()));
const ssh = net.createServer((s) => {
  s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
  s.once('data', () => s.write(randomBytes(600)));
  s.on('end', () => s.end());
});
const lines = net.createServer((s) => {
  s.write('220 mail.shop.example ESMTP ready\r\n');
  s.on('data', (d) => {
    for (const line of d.toString().split('\r\n').filter(Boolean)) s.write(line === 'QUIT' ? '221 bye\r\n' : `250 ok ${line.length}\r\n`);
  });
  s.on('end', () => s.end());
});
for (const [srv, port] of [[web, 18080], [secure, 18444], [random, 17001], [ssh, 17002], [lines, 17003]]) {
  servers.push(srv);
  await listen(srv, port);
}

/** Write each step, then wait for the peer's answer (or 150 ms of silence) before the next. */
async function exchange(port, steps, serverSpeaksFirst) {
  const c = net.connect(port, '127.0.0.1');
  c.on('error', () => {});
  let wake = null;
  c.on('data', () => wake?.());
  const answer = () => new Promise((ok) => { wake = ok; setTimeout(ok, 150); });
  await new Promise((ok) => c.on('connect', ok));
  if (serverSpeaksFirst) await answer();
  for (const step of steps) {
    c.write(step);
    await answer();
  }
  c.end();
  await new Promise((ok) => c.on('close', ok));
}

const get = (path) => new Promise((ok) => http.get({ host: '127.0.0.1', port: 18080, path, agent: false }, (r) => r.resume().on('end', ok)));
await get('/orders');
await get('/health');
await new Promise((ok) => {
  const c = tls.connect({ host: '127.0.0.1', port: 18444, servername: 'mixed.shop.example', rejectUnauthorized: false });
  c.on('data', () => {});
  c.on('end', () => { c.end(); ok(); });
});
await exchange(17001, [randomBytes(300), randomBytes(1200), randomBytes(50)], false);
await exchange(17002, ['SSH-2.0-OpenSSH_9.2p1\r\n', randomBytes(400)], true);
await exchange(17003, ['HELO client.shop.example\r\n', 'MAIL FROM:<a@shop.example>\r\n', 'QUIT\r\n'], true);
for (const s of servers) s.close();
