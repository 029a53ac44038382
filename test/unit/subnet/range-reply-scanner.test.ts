import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RangeReplyScanner } from '../../../src/subnet/etcd/range-reply-scanner.js';
import type { WireKeyValue } from '../../../src/subnet/etcd/etcd-wire.js';

const kvs = [
  { key: 'L2Evc3VibmV0cy8xMC4wLjEuMC0yNA==', value: 'eyJQdWJsaWNJUCI6IjEuMi4zLjQifQ==', create_revision: '5', mod_revision: '7', version: '2', lease: '7587' },
  { key: 'eA==', value: 'braces } { ] [ and "quotes" \\ and é ü 漢字', nested: { a: [{ b: '}' }] } },
  { key: 'eQ==' },
];
const reply = {
  header: { cluster_id: '1', revision: '42', kvs: 'a key named kvs one level down' },
  note: 'kvs',
  kvs,
  more: true,
  count: '3',
};
const text = Buffer.from(JSON.stringify(reply, null, 1), 'utf8');

function scan(chunks: Buffer[]): { got: WireKeyValue[]; rest: unknown } {
  const got: WireKeyValue[] = [];
  const s = new RangeReplyScanner((kv) => got.push(kv));
  for (const c of chunks) s.push(c);
  return { got, rest: s.end() };
}

test('hands out each kvs element and the rest of the reply, wherever the chunks are cut', () => {
  const { kvs: _, ...others } = reply;
  for (let cut = 1; cut < text.length; cut++) {
    const { got, rest } = scan([text.subarray(0, cut), text.subarray(cut)]);
    assert.deepEqual(got, kvs, `cut at ${cut}`);
    assert.deepEqual(rest, { ...others, kvs: [] }, `cut at ${cut}`);
  }
});

test('one byte at a time', () => {
  const chunks = Array.from({ length: text.length }, (_, i) => text.subarray(i, i + 1));
  assert.deepEqual(scan(chunks).got, kvs);
});

test('elements come out as they complete, before the reply ends', () => {
  const got: WireKeyValue[] = [];
  const s = new RangeReplyScanner((kv) => got.push(kv));
  const compact = Buffer.from(JSON.stringify(reply));
  const afterFirst = compact.indexOf('"lease":"7587"},') + '"lease":"7587"}'.length;
  s.push(compact.subarray(0, afterFirst));
  assert.equal(got.length, 1);
  assert.throws(() => s.end(), SyntaxError);
});

test('a reply without kvs (no keys), an empty kvs, thousands of elements', () => {
  assert.deepEqual(scan([Buffer.from('{"header":{"revision":"9"}}')]), { got: [], rest: { header: { revision: '9' } } });
  assert.deepEqual(scan([Buffer.from('{"kvs":[],"count":"0"}')]), { got: [], rest: { kvs: [], count: '0' } });
  const many = Array.from({ length: 5000 }, (_, i) => ({ key: String(i) }));
  const { got } = scan([Buffer.from(JSON.stringify({ header: {}, kvs: many }))]);
  assert.deepEqual(got, many);
});

test('malformed replies throw SyntaxError', () => {
  for (const bad of ['[1]', '{"kvs":[1]}', '{"kvs":[{"key":"a"}]} x', '{"kvs":[{"key":"a"]}']) {
    assert.throws(() => scan([Buffer.from(bad)]), SyntaxError, bad);
  }
});
