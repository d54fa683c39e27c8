// -o openapi: OpenAPI 3.1 documents inferred from the HTTP calls of real captures, valid for
// a real OpenAPI validator (@seriousme/openapi-schema-validator); every inferred schema is
// valid JSON Schema 2020-12 and accepts every body it was inferred from; every call is
// counted on the operation whose path template matches its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Validator } from '@seriousme/openapi-schema-validator';
import { pathTemplate } from '../../src/sink/openapi/path-template.js';
import { runCli, repoRoot } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('path templates: integers, UUIDs, hex ids and serial tokens become parameters; words stay', () => {
  assert.equal(pathTemplate('/items/123').template, '/items/{id}');
  assert.equal(pathTemplate('/items/456').template, '/items/{id}');
  assert.deepEqual(pathTemplate('/users/8a0d3c1e-4b5f-4c8e-9d2a-1f3e5a7b9c0d/orders/77'), {
    template: '/users/{id}/orders/{id2}',
    parameters: [{ name: 'id', kind: 'uuid' }, { name: 'id2', kind: 'integer' }],
  });
  assert.equal(pathTemplate('/blobs/5f2b9c0e8d7a6b5c4d3e2f1a').template, '/blobs/{id}');
  assert.equal(pathTemplate('/orders/01HZX3K9QW4M7R2T8V6B5N1C0D').template, '/orders/{id}');
  assert.equal(pathTemplate('/product/66VCHSJNUP').template, '/product/{id}');
  for (const literal of ['/api/login', '/api/v2/items', '/healthz', '/', '/static/app.min.js', '/shop.v1.Cart/AddItem', '/apis/v1beta12/things', '/http2']) {
    assert.equal(pathTemplate(literal).template, literal);
  }
});

const validator = new Validator();
test('the validator rejects what is not OpenAPI 3.1', async () => {
  assert.equal((await new Validator().validate({ openapi: '3.1.0', info: { title: 'x' }, paths: { '/a': { get: { responses: { '200': {} } } } } })).valid, false);
});
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

const captures = [
  ...['http1', 'http2', 'midstream'].flatMap((dir) => readdirSync(join(repoRoot, 'testdata', dir)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => `testdata/${dir}/${f}`)),
  'testdata/mixed/mixed.pcap',
];

function templateRegex(template: string): RegExp {
  return new RegExp(`^${template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}$`);
}

test('on every HTTP capture, the documents are valid OpenAPI 3.1 and describe every call of the same run', async () => {
  let operations = 0;
  for (const capture of captures) {
    const [oas, nd] = await Promise.all([runCli(['read', join(repoRoot, capture), '-q', '-o', 'openapi']), runCli(['read', join(repoRoot, capture), '-q'])]);
    assert.equal(oas.code, 0, `${capture}: ${oas.stderr}`);
    const docs: Json[] = oas.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const entries: Json[] = nd.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assertValidEntries(entries.slice());
    const http = entries.filter((e) => e.protocol === 'http');
    assert.equal(docs.length > 0, http.length > 0, capture);
    let described = 0;
    const counted = new Map<string, number>();
    for (const doc of docs) {
      const result = await validator.validate(doc);
      assert.ok(result.valid, `${capture} ${doc.info.title}: ${String(JSON.stringify(result.errors ?? result)).slice(0, 600)}`);
      assert.equal(validator.version, '3.1');
      for (const [template, item] of Object.entries(doc.paths as Json)) {
        for (const [method, op] of Object.entries(item as Json)) {
          operations += 1;
          const mine = http.filter((e) => e.request.method.toLowerCase() === method && pathTemplate(e.request.path).template === template);
          assert.ok(mine.every((e) => templateRegex(template).test(e.request.path)));
          counted.set(`${method} ${template}`, (counted.get(`${method} ${template}`) ?? 0) + op['x-kubectl-tap-calls']);
          described += op['x-kubectl-tap-calls'];
          // Every schema compiles, and accepts the JSON bodies it was inferred from.
          for (const [code, response] of Object.entries(op.responses as Json)) {
            for (const [type, media] of Object.entries((response.content ?? {}) as Json)) {
              const validate = ajv.compile(media.schema);
              for (const e of mine.filter((x) => String(x.response?.status) === code && x.response.headers?.['content-type']?.split(';')[0].trim().toLowerCase() === type && /json/.test(type) && !x.response.bodyTruncated)) {
                assert.ok(validate(JSON.parse(e.response.body)), `${capture}: ${method} ${template} ${code} body against its schema: ${JSON.stringify(validate.errors)}`);
              }
              if (media.example !== undefined) assert.ok(validate(media.example), 'the example fits the schema');
            }
          }
          for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Json)) {
            const validate = ajv.compile(media.schema);
            for (const e of mine.filter((x) => x.request.headers?.['content-type']?.split(';')[0].trim().toLowerCase() === type && /json/.test(type) && x.request.body)) {
              assert.ok(validate(JSON.parse(e.request.body)), `${capture}: ${method} ${template} request body`);
            }
          }
          for (const p of (op.parameters ?? []) as Json[]) ajv.compile(p.schema);
          assert.ok(typeof op['x-kubectl-tap-latency-ms'].p50 === 'number' || op['x-kubectl-tap-latency-ms'].p50 === null);
        }
      }
    }
    const standard = http.filter((e) => ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(e.request.method.toLowerCase()));
    assert.equal(described, standard.length, `${capture}: every HTTP call is counted on one operation`);
    const want = new Map<string, number>();
    for (const e of standard) {
      const key = `${e.request.method.toLowerCase()} ${pathTemplate(e.request.path).template}`;
      want.set(key, (want.get(key) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...counted].sort()), Object.fromEntries([...want].sort()), capture);
  }
  assert.ok(operations > 50, `${operations} operations`);
});

test('ids in paths are one operation with a typed path parameter, query parameters are typed, examples are redacted', async () => {
  const r = await runCli(['read', join(repoRoot, 'testdata/http1/ethernet-mixed.pcap'), '-q', '-o', 'openapi']);
  const doc: Json = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((d: Json) => d.paths['/api/login']);
  const ka = doc.paths['/ka/{id}'].get;
  assert.equal(ka['x-kubectl-tap-calls'], 4);
  assert.deepEqual(ka.parameters[0], { name: 'id', in: 'path', required: true, schema: { type: 'integer' } });
  const items = doc.paths['/api/items'].get;
  const limit = items.parameters.find((p: Json) => p.name === 'limit');
  assert.deepEqual(limit.schema, { type: 'integer' });
  const tag = items.parameters.find((p: Json) => p.name === 'tag');
  assert.deepEqual(tag.schema, { type: 'string' });
  const login = doc.paths['/api/login'].post;
  assert.equal(login.requestBody.content['application/json'].example.password, '[REDACTED]');
  assert.equal(login.responses['200'].content['application/json'].example.token, '[REDACTED]');
  assert.equal(doc.paths['/boom'].get['x-kubectl-tap-errors'], 1);
});
