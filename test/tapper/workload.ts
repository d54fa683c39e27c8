// The traffic of the tapper tests, run inside the test's pod namespaces (ip netns exec):
//   workload.ts serve        HTTP on :8080 (?size=N bytes of body, ?delay=MS) and gRPC (echo.proto) on :50051; prints "ready"
//   workload.ts client       reads one JSON command a line on stdin, answers one JSON line
//                            on stdout with the client's own counts:
//     {"op":"http","target":"IP:PORT","paths":["/a",...],"bodySize":N,"delayMs":N}  keep-alive, one socket
//     {"op":"grpc","target":"IP:PORT","names":["x",...]}                  unary calls, one channel
//     {"op":"redis","target":"IP:PORT","keys":["k",...]}                  SET then GET per key, one socket
//     {"op":"dns","server":"IP","names":["x.test",...]}                   one UDP query each
//   Connections stay open between commands (the long-lived connection of the target-change test).
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('./echo.proto', import.meta.url));
const definition = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true })) as any;

if (process.argv[2] === 'serve') serve();
else if (process.argv[2] === 'client') client();
else {
  console.error('usage: workload.ts serve|client');
  process.exit(2);
}

function serve(): void {
  const web = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const size = Number(query.get('size') ?? 0);
    const body = size > 0 ? 'x'.repeat(size) : `you asked for ${req.url}`;
    // ?delay=MS answers late: a call still pending when the tapper stops.
    setTimeout(() => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(body), Number(query.get('delay') ?? 0));
  });
  web.keepAliveTimeout = 120_000;
  const rpc = new grpc.Server();
  rpc.addService(definition.tapecho.Echo.service, {
    Say: (call: any, done: any) => done(null, { text: `echo ${call.request.text}` }),
  });
  web.listen(8080, '0.0.0.0', () => {
    rpc.bindAsync('0.0.0.0:50051', grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) throw err;
      console.log('ready');
    });
  });
}

function client(): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const channels = new Map<string, any>();
  const redis = new Map<string, RespClient>();
  const lines = readline.createInterface({ input: process.stdin });
  // One command at a time, in order.
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      const cmd = JSON.parse(line);
      let answer: unknown;
      try {
        answer = await run(cmd);
      } catch (err) {
        answer = { op: cmd.op, error: String(err) };
      }
      process.stdout.write(JSON.stringify(answer) + '\n');
    });
  });
  lines.on('close', () => {
    agent.destroy();
    for (const c of channels.values()) c.close();
    for (const r of redis.values()) r.close();
  });

  async function run(cmd: any): Promise<unknown> {
    switch (cmd.op) {
      case 'http': {
        const [host, port] = cmd.target.split(':');
        let ok = 0;
        const statuses: number[] = [];
        for (const path of cmd.paths as string[]) {
          const suffix = cmd.bodySize ? `${path.includes('?') ? '&' : '?'}size=${cmd.bodySize}` : '';
          const status = await new Promise<number>((resolve, reject) => {
            http.get({ host, port: Number(port), path: path + suffix, agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            }).on('error', reject);
          });
          statuses.push(status);
          if (status === 200) ok++;
          if (cmd.delayMs) await new Promise((r) => setTimeout(r, cmd.delayMs));
        }
        return { op: 'http', ok, statuses };
      }
      case 'grpc': {
        let channel = channels.get(cmd.target);
        if (!channel) {
          channel = new definition.tapecho.Echo(cmd.target, grpc.credentials.createInsecure());
          channels.set(cmd.target, channel);
        }
        let ok = 0;
        for (const text of cmd.names as string[]) {
          const reply = await new Promise<any>((resolve, reject) => channel.Say({ text }, (err: Error | null, r: any) => (err ? reject(err) : resolve(r))));
          if (reply.text === `echo ${text}`) ok++;
        }
        return { op: 'grpc', ok };
      }
      case 'redis': {
        let r = redis.get(cmd.target);
        if (!r) {
          r = new RespClient(cmd.target);
          redis.set(cmd.target, r);
        }
        let ok = 0;
        for (const key of cmd.keys as string[]) {
          if ((await r.command(['SET', key, `value-of-${key}`])) === '+OK') ok++;
          if ((await r.command(['GET', key])) === `$${`value-of-${key}`.length}\r\nvalue-of-${key}`) ok++;
        }
        return { op: 'redis', ok };
      }
      case 'dns': {
        let answered = 0;
        for (const name of cmd.names as string[]) if (await dnsQuery(cmd.server, name)) answered++;
        return { op: 'dns', answered };
      }
      default:
        throw new Error(`unknown op ${cmd.op}`);
    }
  }
}

/** A minimal RESP client on one socket: one command, one reply, in turn. */
class RespClient {
  private readonly socket: net.Socket;
  private buffered = '';
  private waiting: ((reply: string) => void) | null = null;

  constructor(target: string) {
    const [host, port] = target.split(':');
    this.socket = net.connect(Number(port), host);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.buffered += d;
      this.deliver();
    });
  }

  command(args: string[]): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(`*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`);
    });
  }

  close(): void {
    this.socket.end();
  }

  private deliver(): void {
    if (!this.waiting) return;
    // Simple replies and bulk strings only (what SET and GET answer).
    let end = this.buffered.indexOf('\r\n');
    if (end < 0) return;
    if (this.buffered.startsWith('$') && !this.buffered.startsWith('$-1')) {
      end = this.buffered.indexOf('\r\n', end + 2);
      if (end < 0) return;
    }
    const reply = this.buffered.slice(0, end);
    this.buffered = this.buffered.slice(end + 2);
    const w = this.waiting;
    this.waiting = null;
    w(reply);
  }
}

/** One A query over UDP, from a fresh socket; true when an answer with the same id came back. */
function dnsQuery(server: string, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const id = Math.floor(Math.random() * 65536);
    const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    const query = Buffer.concat([
      Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
      ...labels,
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    const timer = setTimeout(() => {
      socket.close();
      resolve(false);
    }, 2000);
    socket.on('message', (msg) => {
      if (msg.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      socket.close();
      resolve(true);
    });
    socket.send(query, 53, server);
  });
}
