// The session tells its source when it ends, once, whatever ended it: a live source (the
// cluster fan-in, a pipe) has no chunk boundary to notice it at.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { TapSession, type SessionSpec } from '../../src/sink/session.js';
import { LineOutput } from '../../src/sink/output.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { repoRoot } from '../helpers/cli.js';

const spec = (more: Partial<SessionSpec>): SessionSpec => ({ output: 'ndjson', strict: false, quiet: true, colour: false, ...more });

test('a --wait-for match, a --fail-on match and --limit each end the session and tell the source once', async () => {
  const { entries } = await entriesFromCapture(join(repoRoot, 'testdata/http1/ethernet-mixed.pcap'));
  for (const [more, reason, offered] of [
    [{ waitFor: 'request.path = "/boom"' }, 'waitFor', 12],
    [{ failOn: 'response.status = 404' }, 'failOn', 11],
    [{ limit: 3 }, 'limit', 3],
  ] as const) {
    const stdout = new PassThrough();
    const session = new TapSession(spec(more), new LineOutput(stdout));
    const heard: string[] = [];
    session.onStop((r) => heard.push(r));
    for (const e of entries) await session.pipeline.offer(e, 0);
    session.stop('duration'); // a later timer: the session already ended
    assert.deepEqual(heard, [reason]);
    assert.equal(session.pipeline.reported, offered);
  }
});

test('offers not waited for (a live fan-in) are handled in order: nothing after a --fail-on match is reported', async () => {
  const { entries } = await entriesFromCapture(join(repoRoot, 'testdata/http1/ethernet-mixed.pcap'));
  const stdout = new PassThrough();
  const lines: string[] = [];
  stdout.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  const output = new LineOutput(stdout);
  const session = new TapSession(spec({ failOn: 'response.status = 404', filter: 'true' }), output);
  const pending = entries.map((e) => session.pipeline.offer(e, 0));
  await Promise.all(pending);
  await output.flush();
  const paths = lines.map((l) => JSON.parse(l).request.path);
  assert.deepEqual(paths, entries.slice(0, 11).map((e) => e.request.path));
  assert.equal(paths.at(-1), '/missing');
});
