// A payload is shown as UTF-8 text when it is text, else base64 (src/protocols/body.ts).
// textOfRange takes a shortcut for plain ASCII; whatever the bytes, it must give what the
// byte-by-byte rule (isTextRange, then a UTF-8 decode) gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTextRange, renderBodyRange, textOfRange } from '../../src/protocols/body.js';

const byRule = (bytes: Buffer, start: number, end: number) =>
  isTextRange(bytes, start, end) ? bytes.toString('utf8', start, end) : null;

test('every single byte, inside a range of plain text, is judged as the rule judges it', () => {
  let texts = 0;
  for (let b = 0; b < 256; b++) {
    const bytes = Buffer.from([0x5b, 0x61, b, 0x62, 0x5d]);
    const got = textOfRange(bytes, 1, 4);
    assert.equal(got, byRule(bytes, 1, 4), `byte 0x${b.toString(16)}`);
    if (got !== null) texts += 1;
  }
  // tab, LF, FF, CR and the 95 printable ASCII bytes; a lone byte >= 0x80 is not UTF-8.
  assert.equal(texts, 4 + 95);
});

test('UTF-8 text, control bytes, a character cut at the range end and random bytes agree with the rule', () => {
  const cases = [
    Buffer.from('plain {"id":1}\r\n\tend'),
    Buffer.from('grüße, 東京, 🚀'),
    Buffer.from('a\x00b'),
    Buffer.from('del\x7f'),
    Buffer.from('🚀').subarray(0, 3),
    Buffer.from([0xc0, 0x80]),
    Buffer.from([0xf5, 0x80, 0x80, 0x80]),
  ];
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    const bytes = Buffer.alloc(1 + (i % 40));
    for (let k = 0; k < bytes.length; k++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      // Mostly printable ASCII, sometimes any byte: both paths get exercised.
      bytes[k] = seed % 8 === 0 ? seed >> 8 : 0x20 + ((seed >> 8) % 95);
    }
    cases.push(bytes);
  }
  for (const bytes of cases) {
    for (const [start, end] of [[0, bytes.length], [1, bytes.length], [0, Math.max(0, bytes.length - 1)]]) {
      if (start > end) continue;
      assert.equal(textOfRange(bytes, start, end), byRule(bytes, start, end), `${bytes.toString('hex')} [${start}, ${end})`);
    }
  }
});

test('a rendered body is text or base64, cut at the limit, its size always the whole', () => {
  const text = Buffer.from('xx{"sku":42}yy');
  assert.deepEqual(renderBodyRange(text, 2, 12, 1000), { body: '{"sku":42}', bodySize: 10 });
  assert.deepEqual(renderBodyRange(text, 2, 12, 4), { body: '{"sk', bodySize: 10, bodyTruncated: true });
  const binary = Buffer.from([0x00, 0xff, 0x10]);
  assert.deepEqual(renderBodyRange(binary, 0, 3, 1000), { body: 'AP8Q', bodyEncoding: 'base64', bodySize: 3 });
});
