/**
 * The streaming JSON picker: what it keeps equals what JSON.parse would give for those paths,
 * however the input is cut into chunks; it emits records as they close; it refuses truncated
 * input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonPickError, JsonPicker, type PickSpec } from '../../../../src/subnet/kube/json-picker.js';

const NODE_PICKS: PickSpec = { metadata: { name: true, resourceVersion: true, annotations: true }, spec: { podCIDR: true, podCIDRs: true } };

/** Feeds `text` cut at the given sizes (cycled) and returns records and documents. */
function pick(text: string, picks: PickSpec, recordPath: string[] | undefined, sizes: number[]): { records: unknown[]; docs: unknown[] } {
  const records: unknown[] = [];
  const docs: unknown[] = [];
  const p = new JsonPicker({ picks, recordPath, onRecord: (r) => records.push(r), onDocument: (d) => docs.push(d) });
  const bytes = Buffer.from(text, 'utf8');
  let k = 0;
  for (let i = 0; i < bytes.length; ) {
    const n = sizes[k++ % sizes.length] ?? 1;
    p.write(bytes.subarray(i, i + n));
    i += n;
  }
  p.end();
  return { records, docs };
}

function node(i: number): unknown {
  return {
    kind: 'Node',
    metadata: {
      name: `n-${i} \u00e9\u{1F600} "quoted" \\ back`,
      resourceVersion: String(100 + i),
      annotations: { 'a/b': `{"x":[1,2,{"y":"}"}]}`, 'tab\tkey': 'v\n', 'é': 'ü' },
      managedFields: [{ fieldsV1: { 'f:x': {}, 'k:{"type":"Ready"}': { '.': {} } }, time: null, n: -1.5e3 }],
      labels: { [`key${i}`]: 'x' },
    },
    spec: i % 2 === 0 ? { podCIDR: `10.0.${i}.0/24`, podCIDRs: [`10.0.${i}.0/24`, 'fd00::/64'], taints: [] } : { providerID: 'x' },
    status: { conditions: [{ type: 'Ready', status: 'True' }], images: [{ names: ['a:b', '[{'], sizeBytes: 12345678901 }], ok: true, nothing: null },
  };
}

/** What the picks keep of a node, computed from the parsed object. */
function expected(n: unknown): unknown {
  const o = n as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  const spec: Record<string, unknown> = {};
  if ('podCIDR' in o.spec) spec['podCIDR'] = o.spec['podCIDR'];
  if ('podCIDRs' in o.spec) spec['podCIDRs'] = o.spec['podCIDRs'];
  return { metadata: { name: o.metadata['name'], resourceVersion: o.metadata['resourceVersion'], annotations: o.metadata['annotations'] }, spec };
}

describe('JsonPicker', () => {
  const nodes = [0, 1, 2, 3].map(node);
  const list = { kind: 'NodeList', apiVersion: 'v1', items: nodes, metadata: { resourceVersion: '4242', continue: '' } };
  const listPicks: PickSpec = { metadata: { resourceVersion: true }, items: { '*': NODE_PICKS } };

  for (const [label, text] of [
    ['compact', JSON.stringify(list)],
    ['indented', JSON.stringify(list, null, 2)],
  ] as const) {
    for (const sizes of [[1], [2, 3, 5, 7], [64], [1 << 20]]) {
      it(`keeps exactly the picked paths of each item (${label}, chunks of ${sizes.join('/')} bytes)`, () => {
        const { records, docs } = pick(text, listPicks, ['items', '*'], sizes);
        assert.deepEqual(records, nodes.map(expected));
        // Records are not kept in the document; the list's own metadata is.
        assert.deepEqual(docs, [{ metadata: { resourceVersion: '4242' }, items: [] }]);
      });
    }
  }

  it('reads back-to-back documents (a watch stream), with scalars, nulls and whole objects taken', () => {
    const events = [
      { type: 'ADDED', object: nodes[0] },
      { type: 'BOOKMARK', object: { kind: 'Node', metadata: { resourceVersion: '77' } } },
      { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old', details: { x: [1] } } },
      { type: 'DELETED', object: { metadata: { name: 'gone', annotations: null } } },
    ];
    const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const picks: PickSpec = { type: true, object: { ...(NODE_PICKS as object), code: true, reason: true, message: true } };
    for (const sizes of [[1], [3, 11], [4096]]) {
      const { docs } = pick(text, picks, undefined, sizes);
      assert.deepEqual(docs, [
        { type: 'ADDED', object: expected(nodes[0]) },
        { type: 'BOOKMARK', object: { metadata: { resourceVersion: '77' } } },
        { type: 'ERROR', object: { code: 410, reason: 'Expired', message: 'too old' } },
        { type: 'DELETED', object: { metadata: { name: 'gone', annotations: null } } },
      ]);
    }
  });

  it('steps over a picked container that holds a scalar or the wrong kind (spec: null, items: {})', () => {
    const { records, docs } = pick('{"metadata":{"resourceVersion":7},"items":{"a":1},"spec":null}', { metadata: { resourceVersion: true }, items: { '*': NODE_PICKS }, spec: { x: true } }, ['items', '*'], [3]);
    assert.deepEqual(records, []);
    assert.deepEqual(docs, [{ metadata: { resourceVersion: 7 } }]);
  });

  it('finds the end of strings ending in escaped backslashes or holding escaped quotes, however cut', () => {
    const tricky = ['a\\', '\\', '\\\\"x', '"', 'q\\"\\', '', 'end\\\\'];
    const doc = { skip: tricky, keep: tricky, after: 'ok' };
    const text = JSON.stringify(doc);
    for (let size = 1; size <= 9; size++) {
      assert.deepEqual(pick(text, { keep: true, after: true }, undefined, [size]).docs, [{ keep: tricky, after: 'ok' }], `chunks of ${size}`);
    }
  });

  it('reads keys with escapes', () => {
    const { docs } = pick('{"meta\\u0064ata":{"na\\"me":"x","name":"y"}}', { metadata: { name: true, 'na"me': true } }, undefined, [1]);
    assert.deepEqual(docs, [{ metadata: { 'na"me': 'x', name: 'y' } }]);
  });

  it('refuses truncated input and bad picked values', () => {
    const text = JSON.stringify(list);
    for (const cut of [1, 20, text.length - 1]) {
      assert.throws(() => pick(text.slice(0, cut), listPicks, ['items', '*'], [5]), JsonPickError, `cut at ${cut}`);
    }
    assert.throws(() => pick('{"metadata":{"resourceVersion":tru}}', listPicks, undefined, [100]), /bad JSON value/);
    assert.throws(() => pick('{"a":1}}', listPicks, undefined, [100]), /unbalanced/);
  });
});
