// Every test that produces entries validates them against docs/entry.schema.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Entry } from '../../src/entry.js';

const schema = JSON.parse(readFileSync(new URL('../../docs/entry.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

export function assertValidEntries(entries: readonly unknown[]): asserts entries is Entry[] {
  for (const entry of entries) {
    if (!validate(entry)) {
      assert.fail(`entry does not match docs/entry.schema.json: ${JSON.stringify(validate.errors?.slice(0, 3))}\n${JSON.stringify(entry).slice(0, 800)}`);
    }
  }
}
