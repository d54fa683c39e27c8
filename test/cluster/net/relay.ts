// The relay: runs inside the fabric netns (which routes to every pod and node IP) and
// listens on a Unix socket in the state directory, so the API server in the host's
// namespace can open TCP connections to pod IPs without any route on the host. A client
// writes one line "IP PORT\n", then the socket carries that TCP connection's bytes.
// The other way, `--forward IP:PORT=SOCKET` listens on IP:PORT in the fabric netns and
// carries each connection to a Unix socket: the API server's endpoint for in-cluster
// clients (the `kubernetes` Service), still without adding anything to the host's network.
import net from 'node:net';
import { rmSync } from 'node:fs';

const socketPath = process.argv[2];
if (!socketPath) {
  console.error('usage: relay.ts SOCKET [--forward IP:PORT=SOCKET]...');
  process.exit(2);
}
rmSync(socketPath, { force: true });
const MAX_HEADER = 64;

function splice(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

const server = net.createServer((client) => {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > MAX_HEADER) client.destroy();
      return;
    }
    client.off('data', onData);
    client.pause();
    const [host, port] = head.subarray(0, nl).toString().trim().split(' ');
    const rest = head.subarray(nl + 1);
    const upstream = net.connect({ host: host!, port: Number(port) }, () => {
      if (rest.length) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.setTimeout(5000, () => upstream.connecting && upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});

const forwards = process.argv.flatMap((a, i) => (a === '--forward' ? [process.argv[i + 1]!] : []));
let pending = forwards.length + 1;
const ready = () => --pending === 0 && console.log('relay listening');
for (const spec of forwards) {
  const m = /^([\d.]+):(\d+)=(.+)$/.exec(spec);
  if (!m) {
    console.error(`relay: bad --forward ${spec}`);
    process.exit(2);
  }
  net.createServer((conn) => splice(conn, net.connect(m[3]!))).listen(Number(m[2]), m[1], ready);
}
server.listen(socketPath, ready);
process.on('SIGTERM', () => process.exit(0));
