import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonObjectSplitter } from '../../../src/subnet/etcd/json-object-splitter.js';

const objects = [
  { result: { created: true, header: { revision: '5' } } },
  { result: { events: [{ kv: { key: 'L2EvMQ==', value: 'x' } }, { type: 'DELETE', kv: { key: 'L2Ev' } }] } },
  { s: 'braces } { and "quotes" \\ and é ü 漢字 in strings', n: [1, { a: {} }] },
];
const stream = Buffer.from(objects.map((o) => JSON.stringify(o)).join('\n') + '\n', 'utf8');

test('splits concatenated objects whatever the chunk boundaries', () => {
  for (let cut = 1; cut < stream.length; cut++) {
    const s = new JsonObjectSplitter();
    const out = [...s.push(stream.subarray(0, cut)), ...s.push(stream.subarray(cut))];
    assert.deepEqual(out, objects, `cut at ${cut}`);
    assert.equal(s.bufferedBytes, 0);
  }
});

test('one byte at a time, and objects without newlines between them', () => {
  const s = new JsonObjectSplitter();
  const out: unknown[] = [];
  const glued = Buffer.from(objects.map((o) => JSON.stringify(o)).join(''), 'utf8');
  for (let i = 0; i < glued.length; i++) out.push(...s.push(glued.subarray(i, i + 1)));
  assert.deepEqual(out, objects);
});

test('thousands of objects in one chunk come out in order', () => {
  const many = Array.from({ length: 5000 }, (_, i) => ({ i }));
  const out = new JsonObjectSplitter().push(Buffer.from(many.map((o) => JSON.stringify(o)).join('\n')));
  assert.deepEqual(out, many);
});

test('garbage between objects is a SyntaxError', () => {
  assert.throws(() => new JsonObjectSplitter().push(Buffer.from('{"a":1} x')), SyntaxError);
});
