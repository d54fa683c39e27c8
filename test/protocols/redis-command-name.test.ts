// Command names are shared strings found by a hash of their bytes (src/protocols/redis/command-name.ts):
// whatever the cache holds, the name must be what upper-casing the bytes gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandName } from '../../src/protocols/redis/command-name.js';

const nameOf = (text: string, encoding: BufferEncoding = 'latin1') => {
  const bytes = Buffer.from(`xx${text}yy`, encoding);
  return commandName(bytes, 2, bytes.length - 2);
};

test('a command name is its bytes upper-cased, the same string each time it is seen', () => {
  assert.equal(nameOf('get'), 'GET');
  assert.equal(nameOf('GeT'), 'GET');
  assert.ok(Object.is(nameOf('set'), nameOf('SET')));
  assert.equal(nameOf(''), '');
  assert.equal(nameOf('client|setname'), 'CLIENT|SETNAME');
});

test('names that upper-case to another length, or are long, are made fresh and right', () => {
  assert.equal(nameOf('straße'), 'STRASSE');
  assert.equal(nameOf('straße'), 'STRASSE');
  const long = 'x'.repeat(100);
  assert.equal(nameOf(long), 'X'.repeat(64));
});

test('many names, hash collisions among them, never give another name', () => {
  const names = Array.from({ length: 5000 }, (_, i) => `cmd${i.toString(36)}`);
  for (let round = 0; round < 2; round++) {
    for (const name of names) assert.equal(nameOf(name), name.toUpperCase());
  }
  // Two-byte names: 31 * a + b collides for many pairs ("Aa" and "BB" in Java's String.hashCode).
  for (let a = 0x21; a < 0x7f; a++) for (let b = 0x21; b < 0x7f; b += 7) {
    const text = String.fromCharCode(a, b);
    assert.equal(nameOf(text), text.toUpperCase());
  }
});
