// The live benchmark's server pod: HTTP/1.1 keep-alive on :8080 answering every request with
// JSON, small (about 60 bytes) or of BODY_BYTES (the 15 KB case). Reads request bodies whole.
import http from 'node:http';

const bodyBytes = Number(process.env.BODY_BYTES ?? 0);
const filler = bodyBytes > 0 ? JSON.stringify({ items: 'x'.repeat(Math.max(0, bodyBytes - 12)) }) : '';
let served = 0;

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    served++;
    const body = filler || JSON.stringify({ id: served, ok: true, path: req.url.length });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(8080, () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
