// pods/log: a container's output from the kubelet's log file, with tailLines, limitBytes
// and follow (polls the file while the pod exists and the client stays).
import { existsSync, openSync, readSync, closeSync, statSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

export function serveLog(req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams, podExists: () => boolean): void {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  let offset = 0;
  if (existsSync(path)) {
    const text = readFileSync(path);
    let start = 0;
    const tail = q.get('tailLines');
    if (tail !== null) {
      let lines = Number(tail);
      let i = text.length - 1;
      if (text[i] === 10) i--;
      for (; i >= 0 && lines > 0; i--) if (text[i] === 10) lines--;
      start = lines > 0 ? 0 : i + 2;
    }
    const limit = q.get('limitBytes');
    const chunk = text.subarray(start, limit !== null ? start + Number(limit) : undefined);
    res.write(chunk);
    offset = text.length;
  }
  if (q.get('follow') !== 'true') {
    res.end();
    return;
  }
  const timer = setInterval(() => {
    if (!podExists()) {
      clearInterval(timer);
      res.end();
      return;
    }
    if (!existsSync(path)) return;
    const size = statSync(path).size;
    if (size < offset) offset = 0; // rotated
    if (size === offset) return;
    const fd = openSync(path, 'r');
    const buf = Buffer.alloc(Math.min(size - offset, 1 << 20));
    const n = readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    offset += n;
    res.write(buf.subarray(0, n));
  }, 300);
  req.on('close', () => clearInterval(timer));
  res.on('close', () => clearInterval(timer));
}
