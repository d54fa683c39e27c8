// The live benchmark's load generator pod: calls http://TARGET/bench/STEP/N at a fixed RATE for
// SECONDS over CONNECTIONS keep-alive connections (open loop: a call is started every 1/RATE s
// whether or not earlier ones are done; calls wait for a free connection when all are busy),
// with a BODY_BYTES JSON body (POST) or none (GET). Prints one JSON line when done: calls sent,
// answered, failed, and its own CPU.
import http from 'node:http';

const [target, step, rate, seconds, connections, bodyBytes] = [process.env.TARGET, process.env.STEP, Number(process.env.RATE),
  Number(process.env.SECONDS), Number(process.env.CONNECTIONS ?? 32), Number(process.env.BODY_BYTES ?? 0)];
const [host, port] = target.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const body = bodyBytes > 0 ? JSON.stringify({ order: 'y'.repeat(Math.max(0, bodyBytes - 12)) }) : undefined;
let sent = 0;
let ok = 0;
let failed = 0;

function call(n) {
  sent++;
  const req = http.request({ host, port, agent, method: body ? 'POST' : 'GET', path: `/bench/${step}/${n}`,
    headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
    res.resume();
    res.on('end', () => (res.statusCode === 200 ? ok++ : failed++));
  });
  req.on('error', () => failed++);
  req.end(body);
}

const started = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
const total = Math.round(rate * seconds);
let n = 0;
const tick = setInterval(() => {
  // as many calls as the schedule says by now: timer jitter does not change the rate
  const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - started) / 1e9) * rate));
  while (n < due) call(n++);
  if (n >= total) {
    clearInterval(tick);
    const deadline = Date.now() + 10_000;
    const wait = setInterval(() => {
      if (ok + failed < sent && Date.now() < deadline) return;
      clearInterval(wait);
      const cpu = process.cpuUsage(cpuStart);
      console.log(JSON.stringify({ sent, ok, failed, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
      agent.destroy();
      process.exit(0);
    }, 50);
  }
}, 5);
