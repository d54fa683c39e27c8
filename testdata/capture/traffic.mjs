// Real traffic for record.sh: a node HTTP server and client, and a UDP sender/receiver.
//   node traffic.mjs http-server HOST PORT          serve until SIGTERM/SIGINT
//   node traffic.mjs http-client PORT HOST...        a GET and a 20 kB POST to each host
//   node traffic.mjs udp-recv HOST PORT              receive until SIGTERM/SIGINT
//   node traffic.mjs udp-send HOST PORT SIZE COUNT   send COUNT datagrams of SIZE bytes
import http from 'node:http';
import dgram from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);

function stopOnSignal(close) {
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => close());
}

if (mode === 'http-server') {
  const [host, port] = args;
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on('data', (chunk) => (size += chunk.length));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, received: size, pad: 'x'.repeat(3000) }));
    });
  });
  server.listen(Number(port), host, () => console.log('ready'));
  stopOnSignal(() => server.close(() => process.exit(0)));
} else if (mode === 'http-client') {
  const [port, ...hosts] = args;
  const agent = new http.Agent({ keepAlive: true });
  const call = (host, method, path, body) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host, port: Number(port), method, path, agent, family: host.includes(':') ? 6 : 4 }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  for (const host of hosts) {
    await call(host, 'GET', '/hello', undefined);
    await call(host, 'POST', '/upload', Buffer.alloc(20000, 'a'));
  }
  agent.destroy();
} else if (mode === 'udp-recv') {
  const [host, port] = args;
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
  socket.on('message', () => {});
  socket.bind(Number(port), host, () => console.log('ready'));
  stopOnSignal(() => socket.close(() => process.exit(0)));
} else if (mode === 'udp-send') {
  const [host, port, size, count] = args;
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (let i = 0; i < Number(count); i++) {
    const payload = Buffer.alloc(Number(size), 0x41 + i);
    await new Promise((resolve, reject) => socket.send(payload, Number(port), host, (err) => (err ? reject(err) : resolve())));
  }
  socket.close();
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
