import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSensitiveKey, redactBodyText, redactEntry, REDACTED, DEFAULT_REDACTED_HEADERS } from '../../src/redact.js';
import type { Entry } from '../../src/entry.js';

test('sensitive keys are found whatever their case and separators', () => {
  for (const key of ['password', 'userPassword', 'client_secret', 'X-Auth-Token', 'apiKey', 'api_key', 'private.key', 'credentials']) {
    assert.equal(isSensitiveKey(key), true, key);
  }
  for (const key of ['user', 'name', 'cart', 'keyboard', 'pass']) assert.equal(isSensitiveKey(key), false, key);
});

test('JSON bodies: sensitive values at any depth, including whole objects, others untouched', () => {
  const body = JSON.stringify({ user: 'alice', password: 'hunter2', nested: [{ token: 't' }, { api_key: { a: 1 } }], n: 3 });
  const out = JSON.parse(redactBodyText(body, 'application/json')!);
  assert.deepEqual(out, { user: 'alice', password: REDACTED, nested: [{ token: REDACTED }, { api_key: REDACTED }], n: 3 });
  assert.equal(redactBodyText('{"user":"alice"}', 'application/json'), null, 'nothing to redact: null');
  assert.equal(redactBodyText('{"password": "cut off by max-bo', 'application/json'), null, 'unparseable: left');
});

test('form bodies and query objects are redacted, headers by name', () => {
  assert.equal(redactBodyText('user=a&password=p%40ss&x=1', 'application/x-www-form-urlencoded'), `user=a&password=${encodeURIComponent(REDACTED)}&x=1`);
  const entry: Entry = {
    id: 'x', timestamp: '2026-11-26T00:00:00.000000Z', elapsedMs: 1, protocol: 'http',
    src: { ip: '10.0.0.1', port: 1 }, dst: { ip: '10.0.0.2', port: 80 }, summary: 'GET / -> 200',
    request: { method: 'GET', path: '/', query: { access_token: 'abc', q: 'shoes' }, headers: { authorization: 'Bearer abc', 'x-custom': 'secret-header', accept: '*/*' } },
    response: { status: 200, headers: { 'set-cookie': 's=1' }, trailers: { 'x-custom': 'v' } },
  };
  redactEntry(entry, new Set([...DEFAULT_REDACTED_HEADERS, 'x-custom']));
  assert.deepEqual(entry.request.query, { access_token: REDACTED, q: 'shoes' });
  assert.deepEqual(entry.request.headers, { authorization: REDACTED, 'x-custom': REDACTED, accept: '*/*' });
  assert.deepEqual(entry.response!.headers, { 'set-cookie': REDACTED });
  assert.deepEqual(entry.response!.trailers, { 'x-custom': REDACTED });
});
