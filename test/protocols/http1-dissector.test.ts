// The HTTP/1 dissector on real traffic: real clients (node http with a keep-alive agent,
// curl, a raw socket for pipelining) talk to real servers through a recording proxy, and
// the recorded chunks are replayed through the parser with a fake StreamContext.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertValidEntries } from '../helpers/schema.js';
import { http1Dissector } from '../../src/protocols/http1/dissector.js';
import { binaryPayload, bigText, encoded, startServers, textPayload, type TestServers } from './http1-servers.js';
import { directionBytes, makeHarness, replay, startRecordingProxy, type Recording, type RecordingProxy } from './http1-support.js';

const run = promisify(execFile);

let servers: TestServers;
let proxy: RecordingProxy;
let rawProxy: RecordingProxy;
let curlMissing = false;

before(async () => {
  servers = await startServers();
  proxy = await startRecordingProxy(servers.httpPort);
  rawProxy = await startRecordingProxy(servers.rawPort);
  curlMissing = await run('curl', ['--version']).then(
    () => false,
    () => true,
  );
});

after(async () => {
  await proxy.close();
  await rawProxy.close();
  await servers.close();
});

/** Runs real traffic through the proxy; returns the connections it made, once closed. */
async function record(through: RecordingProxy, traffic: () => Promise<void>): Promise<Recording[]> {
  const first = through.connections.length;
  await traffic();
  await through.settled();
  return through.connections.slice(first);
}

function request(agent: http.Agent, method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method, path, agent, headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject); // the connection died mid-body
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function withAgent(fn: (agent: http.Agent) => Promise<void>): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await fn(agent);
  } finally {
    agent.destroy();
  }
}

function dissect(rec: Recording, opts: Parameters<typeof makeHarness>[0] = {}, split = 0) {
  const harness = makeHarness(opts);
  replay(rec, harness, split);
  const entries = harness.entries();
  assertValidEntries(entries);
  return { ...harness, entries };
}

describe('http1 dissector on recorded traffic', () => {
  let keepAlive: Recording;

  it('pairs GET and POST with JSON on a keep-alive connection', async () => {
    const posted = JSON.stringify({ user: 'alice', qty: 3 });
    const servedBefore = servers.served.length;
    const recs = await record(proxy, () =>
      withAgent(async (agent) => {
        await request(agent, 'GET', '/json?x=1&tag=a&tag=b&sp=a+b%21');
        await request(agent, 'POST', '/echo', { headers: { 'content-type': 'application/json' }, body: posted });
      }),
    );
    assert.equal(recs.length, 1, 'keep-alive: one connection');
    keepAlive = recs[0];
    const { calls, entries } = dissect(keepAlive);
    const truth = servers.served.slice(servedBefore);
    assert.equal(calls.length, truth.length);
    const [get, post] = calls;
    assert.equal(get.request.method, 'GET');
    assert.equal(get.request.path, '/json');
    assert.deepEqual(get.request.query, { x: '1', tag: ['a', 'b'], sp: 'a b!' });
    assert.equal(get.request.httpVersion, '1.1');
    assert.equal(get.summary, `GET ${truth[0].url} -> 200`);
    assert.equal(get.response?.status, truth[0].status);
    assert.equal(get.response?.statusText, 'OK');
    assert.equal(get.response?.bodySize, truth[0].responseWireSize);
    assert.deepEqual(JSON.parse(String(get.response?.body)), { i: null, ok: true });
    assert.equal((get.response?.headers as Record<string, string>)['content-type'], 'application/json');
    assert.equal(post.request.body, posted);
    assert.equal(post.request.bodySize, truth[1].requestBodySize);
    assert.equal(post.response?.body, posted);
    assert.equal((post.request.headers as Record<string, string>).connection, 'keep-alive');
    for (const call of calls) {
      assert.ok(call.endMicros !== null && call.endMicros >= call.startMicros);
      assert.equal(call.incomplete, undefined);
    }
    // startMicros is the request's first byte: the first client chunk of the connection.
    assert.equal(get.startMicros, keepAlive.chunks.find((c) => c.dir === 0)?.ts);
    assert.equal(entries.length, 2);
  });

  it('gives the same entries when fed one byte at a time', () => {
    const whole = dissect(keepAlive).calls;
    const bytewise = dissect(keepAlive, {}, 1).calls;
    assert.deepEqual(bytewise, whole);
  });

  it('reads chunked bodies with trailers, also byte by byte', async () => {
    const recs = await record(proxy, () => withAgent(async (agent) => void (await request(agent, 'GET', '/chunked'))));
    const { calls } = dissect(recs[0]);
    assert.equal(calls.length, 1);
    const res = calls[0].response as Record<string, unknown>;
    assert.equal((res.headers as Record<string, string>)['transfer-encoding'], 'chunked');
    assert.equal(res.body, textPayload);
    assert.equal(res.bodySize, textPayload.length);
    assert.match(String((res.trailers as Record<string, string>)['x-checksum']), /^[0-9a-f]{40}$/);
    assert.deepEqual(dissect(recs[0], {}, 1).calls, calls);
  });

  it('decodes gzip, deflate (zlib and raw) and br bodies', async () => {
    const recs = await record(proxy, () =>
      withAgent(async (agent) => {
        for (const name of ['gzip', 'deflate', 'deflate-raw', 'br']) await request(agent, 'GET', `/${name}`);
      }),
    );
    const { calls } = dissect(recs[0]);
    assert.equal(calls.length, 4);
    for (const [i, name] of ['gzip', 'deflate', 'deflate-raw', 'br'].entries()) {
      const res = calls[i].response as Record<string, unknown>;
      assert.equal(res.body, textPayload, name);
      assert.equal(res.bodySize, Buffer.byteLength(textPayload), name);
      assert.equal(res.bodyWireSize, encoded[name].length, name);
      assert.equal(res.bodyDecodeError, undefined, name);
    }
  });

  it('decodes what curl --compressed negotiates', async (t) => {
    if (curlMissing) return t.skip('needs curl: not installed');
    const recs = await record(proxy, () => run('curl', ['-s', '--compressed', '-o', '/dev/null', `http://127.0.0.1:${proxy.port}/gzip`, `http://127.0.0.1:${proxy.port}/br`]).then(() => {}));
    const calls = recs.flatMap((r) => dissect(r).calls);
    assert.equal(calls.length, 2);
    for (const call of calls) {
      assert.match(String((call.request.headers as Record<string, string>)['accept-encoding']), /gzip/);
      assert.equal(call.response?.body, textPayload);
    }
  });

  it('knows HEAD, 204 and 304 responses have no body and stays in step after them', async () => {
    const recs = await record(proxy, () =>
      withAgent(async (agent) => {
        await request(agent, 'HEAD', '/json');
        await request(agent, 'GET', '/nocontent');
        await request(agent, 'GET', '/etag', { headers: { 'if-none-match': '"v1"' } });
        await request(agent, 'GET', '/json?i=last');
      }),
    );
    assert.equal(recs.length, 1);
    const { calls } = dissect(recs[0]);
    assert.deepEqual(calls.map((c) => c.response?.status), [200, 204, 304, 200]);
    const head = calls[0].response as Record<string, unknown>;
    assert.ok(Number((head.headers as Record<string, string>)['content-length']) > 0, 'HEAD response announces a length');
    assert.equal(head.bodySize, 0);
    assert.deepEqual(JSON.parse(String(calls[3].response?.body)), { i: 'last', ok: true });
  });

  it('skips 100 Continue and pairs the final response (curl Expect: 100-continue)', async (t) => {
    if (curlMissing) return t.skip('needs curl: not installed');
    const upload = 'u'.repeat(2048);
    const recs = await record(proxy, async () => {
      const child = execFile('curl', ['-s', '-o', '/dev/null', '-H', 'Expect: 100-continue', '-H', 'content-type: text/plain', '--data-binary', '@-', `http://127.0.0.1:${proxy.port}/upload`]);
      child.stdin?.end(upload);
      await new Promise((resolve) => child.on('exit', resolve));
    });
    const server = directionBytes(recs[0], 1).toString('latin1');
    assert.ok(server.startsWith('HTTP/1.1 100 Continue'), 'the server really sent 100 Continue');
    const { calls } = dissect(recs[0]);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].response?.status, 200);
    assert.equal((calls[0].request.headers as Record<string, string>).expect, '100-continue');
    assert.equal(calls[0].request.bodySize, upload.length);
    assert.equal(calls[0].response?.body, upload);
  });

  it('pairs 10 pipelined requests in order', async () => {
    const requests = Array.from({ length: 10 }, (_, i) => `GET /json?i=${i} HTTP/1.1\r\nHost: pipelined\r\n\r\n`).join('');
    const recs = await record(proxy, async () => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      let seen = '';
      await new Promise<void>((resolve, reject) => {
        socket.on('connect', () => socket.write(requests));
        socket.on('data', (d) => {
          seen += d.toString('latin1');
          if ((seen.match(/"ok":true/g) ?? []).length === 10) socket.end();
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
    });
    const firstClient = recs[0].chunks.find((c) => c.dir === 0);
    assert.equal(firstClient?.data.toString('latin1'), requests, 'all ten requests left in one write');
    const { calls } = dissect(recs[0]);
    assert.equal(calls.length, 10);
    calls.forEach((call, i) => {
      assert.deepEqual(call.request.query, { i: String(i) });
      assert.deepEqual(JSON.parse(String(call.response?.body)), { i: String(i), ok: true });
    });
  });

  it('ends a close-delimited HTTP/1.0 body at the connection close', async (t) => {
    if (curlMissing) return t.skip('needs curl: not installed');
    const recs = await record(rawProxy, () => run('curl', ['-s', '--http1.0', '-o', '/dev/null', `http://127.0.0.1:${rawProxy.port}/legacy`]).then(() => {}));
    const { calls } = dissect(recs[0]);
    assert.equal(calls.length, 1);
    const res = calls[0].response as Record<string, unknown>;
    assert.equal(res.httpVersion, '1.0');
    assert.equal(calls[0].request.httpVersion, '1.0');
    assert.equal(res.body, bigText.slice(0, 5000));
    assert.equal(res.bodySize, 5000);
    assert.equal(calls[0].incomplete, undefined);
    assert.equal(calls[0].endMicros, recs[0].endTs);
  });

  let bigThenJson: Recording;

  it('cuts a 200 KiB body at --max-body and still gives its exact size', async () => {
    const recs = await record(proxy, () =>
      withAgent(async (agent) => {
        await request(agent, 'GET', '/big');
        await request(agent, 'GET', '/json?i=after');
      }),
    );
    bigThenJson = recs[0];
    const { calls } = dissect(bigThenJson, { maxBody: 64 * 1024 });
    const res = calls[0].response as Record<string, unknown>;
    assert.equal(res.bodySize, bigText.length);
    assert.equal(res.bodyTruncated, true);
    assert.equal(res.body, bigText.slice(0, 64 * 1024));
    assert.equal(calls[1].response?.status, 200);
  });

  it('shows a binary body as base64', async () => {
    const recs = await record(proxy, () => withAgent(async (agent) => void (await request(agent, 'GET', '/binary'))));
    const res = dissect(recs[0]).calls[0].response as Record<string, unknown>;
    assert.equal(res.bodyEncoding, 'base64');
    assert.deepEqual(Buffer.from(String(res.body), 'base64'), binaryPayload);
    assert.equal(res.bodySize, binaryPayload.length);
  });

  it('marks a response incomplete when body bytes are lost, and stays in step', () => {
    // Replace the server's second data chunk (inside the 200 KiB body) by a gap notice.
    const harness = makeHarness();
    const parser = http1Dissector.create(harness.ctx);
    let serverChunks = 0;
    let lost = 0;
    for (const chunk of bigThenJson.chunks) {
      if (chunk.dir === 1 && ++serverChunks === 2) {
        lost = chunk.data.length;
        parser.onGap(1, chunk.data.length, chunk.ts);
      } else parser.onData(chunk.dir, chunk.data, chunk.ts);
    }
    parser.onEnd(bigThenJson.endTs);
    assert.ok(lost > 0 && lost < bigText.length, 'the gap fell inside the body');
    const entries = harness.entries();
    assertValidEntries(entries);
    assert.equal(harness.calls.length, 2);
    const [big, after] = harness.calls;
    assert.equal(big.incomplete, true);
    assert.equal(big.response?.body, null);
    assert.equal(big.response?.bodySize, bigText.length);
    assert.equal(after.incomplete, undefined);
    assert.deepEqual(JSON.parse(String(after.response?.body)), { i: 'after', ok: true });
  });

  it('joins mid-stream: skips to the next request line and counts the orphan response', async () => {
    const recs = await record(proxy, () =>
      withAgent(async (agent) => {
        for (const i of [1, 2, 3]) await request(agent, 'GET', `/json?i=${i}`);
      }),
    );
    const chunks = recs[0].chunks;
    assert.equal(chunks[0].dir, 0);
    // The capture starts 7 bytes into the first request: the rest of it is not a message start.
    const late: Recording = { chunks: [{ ...chunks[0], data: chunks[0].data.subarray(7) }, ...chunks.slice(1)], endTs: recs[0].endTs };
    const probe = { client: late.chunks[0].data, server: Buffer.alloc(0), clientPort: 1, serverPort: 2 };
    assert.equal(http1Dissector.detect({ ...probe, midstream: false }), 'no');
    const lateProbe = { ...probe, client: Buffer.concat(late.chunks.filter((c) => c.dir === 0).map((c) => c.data)) };
    assert.equal(http1Dissector.detect({ ...lateProbe, midstream: true }), 'yes');
    const { calls, stats } = dissect(late, { midstream: true });
    assert.deepEqual(calls.map((c) => c.request.query), [{ i: '2' }, { i: '3' }]);
    assert.deepEqual(calls.map((c) => JSON.parse(String(c.response?.body)).i), ['2', '3']);
    assert.equal(stats.get('http1.unpairedResponses'), 1);
    assert.equal(stats.get('http1.bytesSkipped'), chunks[0].data.length - 7);
  });

  it('detects by content: request line, status line, too short, not HTTP/1', () => {
    const get = directionBytes(keepAlive, 0);
    const res = directionBytes(keepAlive, 1);
    const none = Buffer.alloc(0);
    const probe = (client: Buffer, server: Buffer) => http1Dissector.detect({ client, server, clientPort: 40000, serverPort: 1, midstream: false });
    assert.equal(probe(get, none), 'yes');
    assert.equal(probe(none, res), 'yes');
    assert.equal(probe(get.subarray(0, 3), none), 'more');
    assert.equal(probe(get.subarray(0, 12), none), 'more');
    assert.equal(probe(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), none), 'no');
    assert.equal(probe(binaryPayload, none), 'no');
  });

  it('hands an h2c upgrade to the http2 dissector with the request and the bytes beyond it', async (t) => {
    if (curlMissing) return t.skip('needs curl: not installed');
    const recs = await record(proxy, () => run('curl', ['-s', '--http2', '--max-time', '3', '-o', '/dev/null', `http://127.0.0.1:${proxy.port}/h2c?via=upgrade`]).then(() => {}, () => {}));
    const rec = recs[0];
    assert.match(directionBytes(rec, 1).toString('latin1'), /^HTTP\/1\.1 101 /, 'the server switched');
    const { calls, switches } = dissect(rec, { acceptSwitch: true });
    assert.equal(calls.length, 0, 'stream 1 is reported by http2, not here');
    assert.equal(switches.length, 1);
    const init = switches[0].init as { upgradeRequest: Record<string, unknown>; startMicros: number };
    assert.equal(switches[0].protocol, 'http2');
    assert.equal(init.upgradeRequest.method, 'GET');
    assert.equal(init.upgradeRequest.path, '/h2c');
    assert.deepEqual(init.upgradeRequest.query, { via: 'upgrade' });
    assert.equal((init.upgradeRequest.headers as Record<string, string>).upgrade, 'h2c');
    assert.equal(init.startMicros, rec.chunks[0].ts);
    const toHttp2Client = Buffer.concat(switches[0].received.filter((c) => c.dir === 0).map((c) => c.data));
    assert.ok(toHttp2Client.toString('latin1').startsWith('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'the client preface went to http2');
    const afterUpgrade = directionBytes(rec, 1);
    const http2Server = Buffer.concat(switches[0].received.filter((c) => c.dir === 1).map((c) => c.data));
    assert.deepEqual(http2Server, afterUpgrade.subarray(afterUpgrade.indexOf('\r\n\r\n') + 4), 'every server byte after the 101');
    assert.ok(http2Server.length > 0);
    assert.equal(switches[0].ended, true);

    // Without an http2 dissector the upgrade is reported and the rest ignored.
    const refused = dissect(rec, { acceptSwitch: false });
    assert.equal(refused.calls.length, 1);
    assert.equal(refused.calls[0].response?.status, 101);
    assert.equal(refused.calls[0].response?.upgrade, 'h2c');
    assert.ok(refused.stats.get('http1.upgradedBytesIgnored') > 0);
  });

  it('reports a websocket upgrade and ignores the frames after it', async () => {
    const recs = await record(proxy, async () => {
      await new Promise<void>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: proxy.port,
          path: '/chat',
          headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
        });
        req.on('upgrade', (_res, socket, head: Buffer) => {
          const reply = () => {
            // A masked text frame "bye" from the client, then close.
            const mask = Buffer.from([1, 2, 3, 4]);
            const text = Buffer.from('bye').map((b, i) => b ^ mask[i % 4]);
            socket.end(Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, text]));
          };
          // The server's first frame may come with the 101 (in `head`) or after it.
          if (head.length > 0) reply();
          else socket.once('data', reply);
          socket.on('close', () => resolve());
        });
        req.on('error', reject);
        req.end();
      });
    });
    const { calls, stats } = dissect(recs[0]);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].response?.status, 101);
    assert.equal(calls[0].response?.upgrade, 'websocket');
    assert.equal(calls[0].summary, 'GET /chat -> 101');
    const frameBytes = directionBytes(recs[0], 0).length - directionBytes(recs[0], 0).indexOf('\r\n\r\n') - 4 + 2 + 'hello from server'.length;
    assert.equal(stats.get('http1.upgradedBytesIgnored'), frameBytes);
  });

  it('counts a head over 64 KiB as malformed without throwing', async () => {
    const recs = await record(proxy, async () => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      await new Promise<void>((resolve) => {
        socket.on('connect', () => socket.write(`GET /huge HTTP/1.1\r\nHost: x\r\nX-Filler: ${'f'.repeat(70 * 1024)}\r\n\r\n`));
        socket.on('data', () => {});
        socket.on('close', () => resolve());
        socket.on('error', () => resolve());
      });
    });
    assert.match(directionBytes(recs[0], 1).toString('latin1'), /^HTTP\/1\.1 431 /, 'node refused the head too');
    const { calls, stats } = dissect(recs[0]);
    assert.equal(stats.get('http1.malformed.headTooLong'), 1);
    assert.equal(stats.get('http1.unpairedResponses'), 1);
    assert.equal(calls.length, 0);
  });

  it('marks a response cut by the connection close incomplete, and a request never answered', async () => {
    const recs = await record(proxy, () =>
      withAgent(async (agent) => {
        await request(agent, 'GET', '/cut').catch(() => undefined);
      }).then(() => withAgent(async (agent) => void (await request(agent, 'GET', '/hangup?why=test').catch(() => undefined)))),
    );
    assert.equal(recs.length, 2);
    const cut = dissect(recs[0]).calls;
    assert.equal(cut.length, 1);
    assert.equal(cut[0].incomplete, true);
    assert.equal(cut[0].response?.status, 200);
    assert.equal(cut[0].response?.bodySize, 100);
    const hangup = dissect(recs[1]).calls;
    assert.equal(hangup.length, 1);
    assert.equal(hangup[0].response, null);
    assert.equal(hangup[0].endMicros, null);
    assert.equal(hangup[0].summary, 'GET /hangup?why=test -> (no response)');
  });

  it('counts a bad chunk size as malformed, keeps the partial response and resynchronises', () => {
    // Hand-made: the malformed case itself (a chunk size that is not hex), followed by a
    // well-formed pipelined exchange that must still be found.
    const harness = makeHarness();
    const parser = http1Dissector.create(harness.ctx);
    parser.onData(0, Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n'), 1);
    parser.onData(1, Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\nworld\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 2);
    parser.onEnd(3);
    const entries = harness.entries();
    assertValidEntries(entries);
    assert.equal(harness.stats.get('http1.malformed'), 1);
    assert.equal(harness.stats.get('http1.malformed.chunkSize'), 1);
    assert.deepEqual(harness.calls.map((c) => [c.request.path, c.response?.body, c.incomplete]), [
      ['/a', 'hello', true],
      ['/b', 'ok', undefined],
    ]);
  });
});
