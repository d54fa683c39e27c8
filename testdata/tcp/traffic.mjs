// Traffic for testdata/tcp/record.sh: a node `net` server and client exchange request/response
// messages over TCP port 8080 while iptables (set up by record.sh) drops some packets on
// receive, so the capture holds real retransmissions and overlaps. The client connects twice
// from the same local port (the server closes first, so the client keeps no TIME_WAIT and the
// 4-tuple is really reused), then once from another port and resets that connection.
// Prints, as JSON, what each side actually wrote on each connection (lengths and SHA-256):
// the ground truth the reassembled streams must equal.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const host = process.argv[2] ?? '127.0.0.1';
// Never hang a recording: give up loudly after a minute.
setTimeout(() => {
  console.error('traffic.mjs: timed out');
  process.exit(1);
}, 60_000).unref();
const port = 8080;
const clientPort = 45001;
const sha = (b) => createHash('sha256').update(b).digest('hex');

// Server: reads requests (12-byte header: answer size, close flag, padding length; then the
// padding), answers each with `size` random bytes, and closes first when asked.
const server = net.createServer((socket) => {
  let buffered = Buffer.alloc(0);
  let skip = 0;
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const skipped = Math.min(skip, buffered.length);
      buffered = buffered.subarray(skipped);
      skip -= skipped;
      if (skip > 0 || buffered.length < 12) return;
      const size = buffered.readUInt32BE(0);
      const close = buffered.readUInt32BE(4) === 1;
      skip = buffered.readUInt32BE(8);
      buffered = buffered.subarray(12);
      socket.write(randomBytes(size));
      if (close) socket.end();
    }
  });
  socket.on('error', () => {});
});
await new Promise((resolve) => server.listen(port, host, resolve));

async function conversation(localPort, sizes, { reset = false } = {}) {
  // The previous connection on this port may still be in LAST_ACK (its final ACK can be one
  // of the dropped packets): retry until the kernel lets the 4-tuple go.
  let socket;
  for (let attempt = 0; ; attempt++) {
    socket = net.connect({ host, port, localPort });
    try {
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      break;
    } catch (err) {
      if (err.code !== 'EADDRNOTAVAIL' || attempt > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const sent = [];
  const received = [];
  socket.on('data', (chunk) => received.push(chunk));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  let expected = 0;
  for (let i = 0; i < sizes.length; i++) {
    const padding = randomBytes(200 + i * 20_000);
    const header = Buffer.alloc(12);
    header.writeUInt32BE(sizes[i], 0);
    header.writeUInt32BE(!reset && i === sizes.length - 1 ? 1 : 0, 4);
    header.writeUInt32BE(padding.length, 8);
    const request = Buffer.concat([header, padding]);
    sent.push(request);
    socket.write(request);
    expected += sizes[i];
    while (received.reduce((n, c) => n + c.length, 0) < expected) await new Promise((r) => setTimeout(r, 5));
  }
  if (reset) {
    socket.resetAndDestroy();
  }
  await closed;
  return { localPort, sent: Buffer.concat(sent), received: Buffer.concat(received) };
}

const results = [];
results.push(await conversation(clientPort, [1000, 80_000, 20_000]));
await new Promise((r) => setTimeout(r, 100));
results.push(await conversation(clientPort, [70_000, 10]));
results.push(await conversation(clientPort + 1, [5000, 60_000], { reset: true }));
await new Promise((r) => setTimeout(r, 200));
server.close();

console.log(
  JSON.stringify(
    results.map((r) => ({
      clientPort: r.localPort,
      serverPort: port,
      clientToServer: { bytes: r.sent.length, sha256: sha(r.sent) },
      serverToClient: { bytes: r.received.length, sha256: sha(r.received) },
    })),
    null,
    2,
  ),
);
