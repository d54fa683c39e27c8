// The printer's batches: every line reaches the stream whole and in order, as UTF-8, whatever
// its characters (ASCII, two-, three- and four-byte ones, lone surrogates) and however long
// (a line longer than a batch, lines that fill one exactly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { LineOutput } from '../../src/sink/output.js';

test('lines of every kind of character and length arrive whole, in order, as UTF-8', async () => {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const output = new LineOutput(stream);
  const pieces = ['{"a":1}', 'é', '€', '😀', 'x'.repeat(16 * 1024), '\ud800', 'ü'.repeat(9000), '中'.repeat(7000)];
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(`${i}:${pieces[i % pieces.length]!.repeat(1 + (i % 3))}`);
  for (const line of lines) output.writeLine(line);
  await output.flush();
  const text = Buffer.concat(chunks).toString('utf8');
  assert.equal(text, lines.map((l) => `${Buffer.from(l).toString('utf8')}\n`).join(''));
  assert.ok(chunks.length > 10, `${chunks.length} writes: batched, not one`);
});
