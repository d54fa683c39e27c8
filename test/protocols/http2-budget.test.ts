// HTTP/2's own state is charged with the connection ('tcp.connections'), and its HPACK
// tables as they grow: when the budget cannot take a table's growth, the table is forgotten
// as after a lost header block, counted, and later references into it leave the field out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBudget } from '../../src/memory/budget.js';
import { Http2Connection } from '../../src/protocols/http2/connection.js';
import { recordingContext } from '../helpers/context.js';
import { END_HEADERS, END_STREAM, H2, PREFACE, frame, indexed, literalIncremental, requestBlock, responseBlock } from '../hostile/h2-synth.js';

function connection(limit: number, filler: number) {
  const base = recordingContext();
  const ctx = { ...base, memory: new MemoryBudget(limit, base.stats) };
  // Bytes held by something that cannot shed (another connection's state).
  assert.ok(ctx.memory.account('tcp.connections').charge(filler));
  const conn = new Http2Connection(ctx);
  conn.onData(0, Buffer.concat([PREFACE, frame(H2.SETTINGS, 0, 0)]), 1);
  conn.onData(1, frame(H2.SETTINGS, 0, 0), 2);
  return { ctx, conn, calls: base.calls };
}

const VALUE = 't'.repeat(200);

/**
 * Streams 1..19 answered in one chunk, each response adding an x-tenant-<i> entry to the
 * server's table (the table grows ten entries while each header list is let go as its stream
 * ends); then stream 21's response refers to the newest entry (index 62).
 */
function tenAnswersThenAReference(conn: Http2Connection): void {
  const ids = Array.from({ length: 10 }, (_, i) => 2 * i + 1);
  conn.onData(0, Buffer.concat(ids.map((id) => frame(H2.HEADERS, END_HEADERS | END_STREAM, id, requestBlock('/a')))), 3);
  conn.onData(1, Buffer.concat(ids.map((id) => frame(H2.HEADERS, END_HEADERS | END_STREAM, id, responseBlock(literalIncremental(`x-tenant-${id}`, VALUE))))), 4);
  conn.onData(0, frame(H2.HEADERS, END_HEADERS | END_STREAM, 21, requestBlock('/b')), 5);
  conn.onData(1, frame(H2.HEADERS, END_HEADERS | END_STREAM, 21, responseBlock(indexed(62))), 6);
}

test('HTTP/2: the connection state and the HPACK table growth are charged as tcp.connections', () => {
  const { ctx, conn, calls } = connection(1024 * 1024, 0);
  const empty = ctx.memory.usedBy('tcp.connections');
  assert.ok(empty >= 5000, `state charged: ${empty}`);
  tenAnswersThenAReference(conn);
  // Ten entries of about 14 + 200 + 32 RFC bytes, plus their overhead.
  assert.ok(ctx.memory.usedBy('tcp.connections') >= empty + 2400, `table charged: ${ctx.memory.usedBy('tcp.connections')}`);
  assert.equal(calls.length, 11);
  assert.equal(JSON.stringify(calls[10].response).includes(VALUE), true, 'stream 21 decoded the indexed field');
  conn.onEnd(7);
  assert.equal(ctx.memory.usedBy('tcp.connections'), 0, 'all released when the connection ends');
});

test('HTTP/2: an HPACK table the budget cannot take is forgotten and counted; the reference to it leaves the field out', () => {
  // A room (in 10-byte steps) in which the responses' header lists are kept (some at least) but the table
  // the ten responses filled is not: the table's entries, charged after the lists are let go,
  // are what does not fit there.
  const limit = 64 * 1024;
  let run: ReturnType<typeof connection> | undefined;
  const state = connection(limit, 0).ctx.memory.usedBy('tcp.connections');
  for (let room = state; room < state + 16000 && run === undefined; room += 10) {
    const r = connection(limit, limit - room);
    tenAnswersThenAReference(r.conn);
    const s = r.ctx.stats;
    const kept = r.calls.length === 11 && r.calls.slice(0, 10).some((c) => JSON.stringify(c.response).includes(VALUE));
    if (kept && s.get('http2.hpackTablesShed.memoryBudget') > 0) run = r;
  }
  assert.ok(run !== undefined, 'some room keeps a header list but not the table');
  const { ctx, calls } = run;
  assert.equal(ctx.stats.get('http2.hpackTablesShed.memoryBudget'), 1);
  assert.equal(ctx.stats.get('http2.headerBlocksIncomplete'), 1, 'stream 21 refers into the forgotten table');
  assert.equal((calls[10].request as Record<string, unknown>).path, '/b');
  assert.equal(JSON.stringify(calls[10].response).includes(VALUE), false, 'the forgotten entry is not guessed');
  assert.ok(ctx.memory.used <= limit);
});
