// -o har: a HAR 1.2 document valid against the HAR schema (har-schema, compiled with Ajv),
// with one entry per HTTP and gRPC call of the same run, redacted, on every HTTP capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { runCli, repoRoot } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';

const require = createRequire(import.meta.url);
const harSchemas: Record<string, object> = require('har-schema');
const ajv = new Ajv.default({ allErrors: true, strict: false });
addFormats.default(ajv);
ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
for (const schema of Object.values(harSchemas)) ajv.addSchema(schema);
const validateHar = ajv.getSchema('har.json#')!;
// The validator rejects what is not HAR (an entry without its required fields).
assert.equal(validateHar({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: [{ time: 1 }] } }), false);

const captures = [
  ...['http1', 'http2', 'grpc'].flatMap((dir) => readdirSync(join(repoRoot, 'testdata', dir)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => `testdata/${dir}/${f}`)),
  'testdata/mixed/mixed.pcap',
];

test('on every HTTP, HTTP/2 and gRPC capture, -o har is valid HAR 1.2 with one entry per call of the same entries', async () => {
  for (const capture of captures) {
    const [har, nd] = await Promise.all([runCli(['read', join(repoRoot, capture), '-q', '-o', 'har']), runCli(['read', join(repoRoot, capture), '-q'])]);
    assert.equal(har.code, 0, `${capture}: ${har.stderr}`);
    const doc = JSON.parse(har.stdout);
    assert.ok(validateHar(doc), `${capture}: ${JSON.stringify(validateHar.errors?.slice(0, 3))}`);
    const entries: Array<Record<string, any>> = nd.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)); // eslint-disable-line @typescript-eslint/no-explicit-any
    assertValidEntries(entries.slice());
    const http = entries.filter((e) => e.protocol === 'http' || e.protocol === 'grpc');
    assert.equal(doc.log.version, '1.2');
    assert.equal(doc.log.entries.length, http.length, capture);
    if (http.length < entries.length) assert.match(doc.log.comment, new RegExp(`${entries.length - http.length} calls of other protocols`));
    for (const [i, e] of http.entries()) {
      const h = doc.log.entries[i];
      assert.equal(h.startedDateTime, e.timestamp);
      const url = URL.canParse(h.request.url) ? new URL(h.request.url) : assert.fail(`${capture}: not a URL: ${h.request.url}`);
      assert.ok(h.request.url.includes(e.request.path), `${capture}: ${h.request.url} has ${e.request.path}`);
      if (e.protocol === 'grpc') {
        assert.equal(h.request.method, 'POST');
        assert.equal(h.request.httpVersion, 'HTTP/2.0');
      } else {
        assert.equal(h.request.method, e.request.method);
        // Every query parameter survives the trip through the URL.
        for (const [k, v] of Object.entries(e.request.query ?? {})) assert.deepEqual(url.searchParams.getAll(k), Array.isArray(v) ? v : [v]);
      }
      assert.equal(h.response.status, e.response?.status ?? 0);
      if (typeof e.response?.body === 'string' && e.response.body !== '') assert.equal(h.response.content.text, e.response.body);
    }
  }
});

test('the HAR is redacted like the entries, and --no-redact shows the credentials', async () => {
  const capture = join(repoRoot, 'testdata/http1/ethernet-mixed.pcap');
  const login = (doc: { log: { entries: Array<{ request: { url: string; headers: Array<{ name: string; value: string }>; postData?: { text: string } } }> } }) =>
    doc.log.entries.find((e) => e.request.url.endsWith('/api/login'))!.request;
  const redacted = login(JSON.parse((await runCli(['read', capture, '-q', '-o', 'har'])).stdout));
  assert.equal(redacted.headers.find((h) => h.name === 'authorization')!.value, '[REDACTED]');
  assert.equal(JSON.parse(redacted.postData!.text).password, '[REDACTED]');
  const clear = login(JSON.parse((await runCli(['read', capture, '-q', '-o', 'har', '--no-redact'])).stdout));
  assert.notEqual(clear.headers.find((h) => h.name === 'authorization')!.value, '[REDACTED]');
});
