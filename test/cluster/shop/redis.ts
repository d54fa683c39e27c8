// A minimal RESP2 client for the cart service (no Redis client package is installed, and
// the cart needs three commands). One connection, commands pipelined in order.
import net from 'node:net';

type Reply = string | number | null | Reply[] | Error;

export class Redis {
  private buf = Buffer.alloc(0);
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private sock?: net.Socket;

  constructor(private readonly host: string, private readonly port: number) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(this.port, this.host, () => resolve());
      sock.on('error', (err) => {
        reject(err);
        for (const w of this.waiting.splice(0)) w.reject(err);
        this.sock = undefined;
      });
      sock.on('close', () => (this.sock = undefined));
      sock.on('data', (d: Buffer) => this.onData(d));
      this.sock = sock;
    });
  }

  async command(...args: (string | number)[]): Promise<Reply> {
    if (!this.sock) await this.connect();
    const parts = args.map(String);
    let out = `*${parts.length}\r\n`;
    for (const p of parts) out += `$${Buffer.byteLength(p)}\r\n${p}\r\n`;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock!.write(out);
    });
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const parsed = parse(this.buf, 0);
      if (!parsed) return;
      this.buf = this.buf.subarray(parsed[1]);
      const w = this.waiting.shift();
      if (parsed[0] instanceof Error) w?.reject(parsed[0]);
      else w?.resolve(parsed[0]);
    }
  }
}

function parse(b: Buffer, at: number): [Reply, number] | undefined {
  const nl = b.indexOf('\r\n', at);
  if (nl < 0) return undefined;
  const line = b.toString('utf8', at + 1, nl);
  const next = nl + 2;
  switch (String.fromCharCode(b[at]!)) {
    case '+': return [line, next];
    case '-': return [new Error(line), next];
    case ':': return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (b.length < next + n + 2) return undefined;
      return [b.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parse(b, pos);
        if (!item) return undefined;
        items.push(item[0]);
        pos = item[1];
      }
      return [items, pos];
    }
    default: return [new Error(`bad RESP byte ${b[at]}`), b.length];
  }
}
