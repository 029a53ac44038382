import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseNetworkConfig } from '../../../src/config/network-config.js';
import { MalformedInputError, UsageError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { JsonPickError, JsonPicker, type PickSpec } from '../../../src/subnet/kube/json-picker.js';
import { allKeys, annotationKeys, desiredAnnotations } from '../../../src/subnet/kube/kube-annotations.js';
import { nodeSubnets, nodeToLease, projectNode } from '../../../src/subnet/kube/kube-node.js';
import { HOSTILE_KEYS, anyJson, check, deepJsonText, expectTypedOrValue, macText, mutatedText } from './fuzz-settings.js';

const KEYS = annotationKeys('flannel.alpha.coreos.com');
const NODE_PICKS = { metadata: { name: true, resourceVersion: true, annotations: true }, spec: { podCIDR: true, podCIDRs: true } } as const;
const WATCH_PICKS: PickSpec = { type: true, object: { ...NODE_PICKS, code: true, reason: true, message: true } };
const LIST_PICKS: PickSpec = { metadata: { resourceVersion: true }, items: { '*': NODE_PICKS } };

const cidr = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, l]) => IPNetwork.of(IPAddress.parse(ip), l).toString()),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([ip, l]) => IPNetwork.of(IPAddress.parse(ip), l).toString()),
  fc.string(),
);
const annotationValue = fc.oneof(fc.constantFrom('true', 'false', '', 'null', '{}', '{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}', '{', '[1]'), fc.ipV4(), fc.ipV6(), fc.string(), anyJson);
const annotations = fc.dictionary(fc.oneof(fc.constantFrom(...allKeys(KEYS)), fc.constantFrom(...HOSTILE_KEYS), fc.string()), annotationValue, { maxKeys: 8 });

/** Node-like objects: mostly well-shaped, with wrong types and hostile values in places. */
const nodeObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      metadata: fc.record({ name: fc.oneof(fc.string(), anyJson), resourceVersion: fc.oneof(fc.string(), anyJson), annotations: fc.oneof(annotations, anyJson), status: anyJson }, { requiredKeys: [] }),
      spec: fc.record({ podCIDR: fc.oneof(cidr, anyJson), podCIDRs: fc.oneof(fc.array(cidr, { maxLength: 3 }), anyJson) }, { requiredKeys: [] }),
      status: anyJson,
    },
    { requiredKeys: [] },
  ),
  anyJson,
);

const SKIP = Symbol('skip');
/** What the picker should give: the spec applied to the parsed value. */
function pickRef(v: unknown, spec: PickSpec): unknown {
  if (spec === true) return v;
  const keyed = Object.keys(spec).some((k) => k !== '*');
  if (keyed && v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const s = Object.hasOwn(spec, k) ? spec[k] : undefined;
      if (s === undefined) continue;
      const r = pickRef(x, s);
      if (r !== SKIP) Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  const each = Object.hasOwn(spec, '*') ? spec['*'] : undefined;
  if (each !== undefined && Array.isArray(v)) return v.map((x) => pickRef(x, each)).filter((r) => r !== SKIP);
  return SKIP;
}

/** Splits text's bytes at the given cut points. */
function chunks(text: string, cuts: number[]): Buffer[] {
  const b = Buffer.from(text, 'utf8');
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    out.push(b.subarray(from, c));
    from = c;
  }
  out.push(b.subarray(from));
  return out;
}

function runPicker(parts: Buffer[], picks: PickSpec, recordPath?: string[]): { docs: unknown[]; records: unknown[] } {
  const docs: unknown[] = [];
  const records: unknown[] = [];
  const p = new JsonPicker({ picks, recordPath, onRecord: (r) => records.push(r), onDocument: (d) => docs.push(d) });
  for (const c of parts) p.write(c);
  p.end();
  return { docs, records };
}

/** A key escaped as \u00XX (what a server may send): the picker must unescape it. */
function escapeSomeKeys(text: string, on: boolean): string {
  return on ? text.replace(/"(metadata|podCIDRs|annotations)":/g, (_m, k: string) => `"\\u00${k.charCodeAt(0).toString(16)}${k.slice(1)}":`) : text;
}

describe('fuzz: kube node objects and annotations', () => {
  it('JsonPicker on a watch event in any chunking gives what picking from JSON.parse gives', () => {
    check(
      fc.property(fc.record({ type: fc.oneof(fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'), anyJson), object: nodeObject }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (ev, cuts, esc) => {
        const text = escapeSomeKeys(JSON.stringify(ev), esc);
        const { docs } = runPicker(chunks(text, cuts), WATCH_PICKS);
        assert.equal(docs.length, 1);
        assert.deepEqual(docs[0], pickRef(JSON.parse(text), WATCH_PICKS));
      }),
    );
  });

  it('JsonPicker on a node list: each item emitted as a record, as picked from JSON.parse', () => {
    check(
      fc.property(fc.array(nodeObject, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (items, cuts) => {
        const doc = { kind: 'NodeList', metadata: { resourceVersion: '42' }, items };
        const text = JSON.stringify(doc);
        const { docs, records } = runPicker(chunks(text, cuts), LIST_PICKS, ['items', '*']);
        assert.equal(docs.length, 1);
        const want = (JSON.parse(text) as typeof doc).items.map((i) => pickRef(i, NODE_PICKS)).filter((r) => r !== SKIP);
        assert.deepEqual(records, want);
        assert.deepEqual((docs[0] as { metadata?: unknown }).metadata, { resourceVersion: '42' });
      }),
    );
  });

  it('JsonPicker on broken or hostile bytes: a result or a JsonPickError, never another exception', () => {
    const valid = fc.record({ type: fc.constant('ADDED'), object: nodeObject }).map((e) => JSON.stringify(e));
    const texts = fc.oneof(mutatedText(valid), fc.string({ unit: 'binary' }), deepJsonText, fc.constantFrom('{"\\x":1}', '{"a\\', '}}}', ']', '"', '{"object":{"metadata":{"\\ud800":1}}}'));
    check(
      fc.property(texts, fc.array(fc.nat(), { maxLength: 4 }), (text, cuts) => {
        expectTypedOrValue(() => runPicker(chunks(text, cuts), WATCH_PICKS), { typed: JsonPickError });
        expectTypedOrValue(() => runPicker(chunks(text, cuts), LIST_PICKS, ['items', '*']), { typed: JsonPickError });
      }),
    );
  });

  it('projectNode and nodeToLease never throw; only flannel\'s string annotations are kept; nothing is polluted', () => {
    const v4 = parseNetworkConfig('{"Network":"10.244.0.0/16"}', { checkSubnetRanges: false });
    const dual = parseNetworkConfig('{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48"}', { checkSubnetRanges: false });
    check(
      fc.property(nodeObject, (obj) => {
        const n = projectNode(JSON.parse(JSON.stringify(obj) ?? 'null'), allKeys(KEYS));
        if (!n) return;
        for (const [k, v] of Object.entries(n.annotations)) {
          assert.ok(allKeys(KEYS).includes(k), k);
          assert.equal(typeof v, 'string');
        }
        for (const c of n.podCIDRs) assert.equal(typeof c, 'string');
        expectTypedOrValue(() => nodeSubnets(n), { typed: MalformedInputError, field: () => 'spec.podCIDRs' });
        for (const cfg of [v4, dual]) {
          const r = nodeToLease(n, KEYS, cfg);
          if ('skip' in r) assert.equal(typeof r.skip, 'string');
          else {
            assert.ok(!cfg.enableIPv4 || r.lease.subnet?.family === 4);
            assert.ok(!cfg.enableIPv6 || r.lease.ipv6Subnet?.family === 6);
          }
        }
        assert.equal(({} as Record<string, unknown>)[KEYS.publicIP], undefined);
      }),
    );
  });

  it('annotations this host writes round-trip into the lease a peer reads (desiredAnnotations → nodeToLease)', () => {
    const cfg = parseNetworkConfig('{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48"}', { checkSubnetRanges: false });
    const attrs = fc.record({
      backendType: fc.constantFrom('vxlan', 'wireguard', 'host-gw', 'extension'),
      ip4: fc.ipV4().filter((s) => s !== '0.0.0.0'),
      ip6: fc.ipV6().filter((s) => !IPAddress.parse(s).isUnspecified()),
      mac4: macText,
      mac6: macText,
      third: fc.integer({ min: 0, max: 255 }),
    });
    check(
      fc.property(attrs, (a) => {
        const data = a.backendType === 'vxlan' ? { VNI: 1, VtepMAC: a.mac4 } : a.backendType === 'wireguard' ? { PublicKey: 'k', Port: 51820 } : undefined;
        const data6 = a.backendType === 'vxlan' ? { VNI: 1, VtepMAC: a.mac6 } : a.backendType === 'wireguard' ? { PublicKey: 'k6', Port: 51821 } : undefined;
        const leaseAttrs = { publicIP: IPAddress.parse(a.ip4), publicIPv6: IPAddress.parse(a.ip6), backendType: a.backendType, backendData: data, backendV6Data: data6 };
        const ann = desiredAnnotations({}, leaseAttrs, KEYS);
        const node = projectNode({ metadata: { name: 'n1', annotations: ann }, spec: { podCIDRs: [`10.244.${a.third}.0/24`, `fc00:0:0:${a.third.toString(16)}::/64`] } }, allKeys(KEYS));
        assert.ok(node);
        const r = nodeToLease(node, KEYS, cfg);
        assert.ok(!('skip' in r), 'skip' in r ? r.skip : '');
        assert.equal(r.lease.attrs.publicIP?.toString(), a.ip4);
        assert.equal(r.lease.attrs.publicIPv6?.toString(), IPAddress.parse(a.ip6).toString());
        assert.equal(r.lease.attrs.backendType, a.backendType);
        assert.deepEqual(r.lease.attrs.backendData, data);
        assert.deepEqual(r.lease.attrs.backendV6Data, data6);
        assert.equal(r.lease.subnet?.toString(), `10.244.${a.third}.0/24`);
      }),
    );
  });

  it('annotationKeys(any prefix): keys, or a UsageError naming -kube-annotation-prefix', () => {
    check(
      fc.property(fc.oneof(fc.string(), fc.domain(), fc.tuple(fc.domain(), fc.string()).map(([d, s]) => `${d}/${s}`)), (prefix) => {
        const k = expectTypedOrValue(() => annotationKeys(prefix), { typed: UsageError, field: () => 'kube-annotation-prefix' });
        if (!(k instanceof Error)) for (const key of allKeys(k)) assert.equal(key.split('/').length, 2, key);
      }),
    );
  });

  it('regression: a bad escape in a key is a JsonPickError; bad podCIDRs a MalformedInputError', () => {
    assert.throws(() => runPicker([Buffer.from('{"ob\\ject":1}')], WATCH_PICKS), JsonPickError);
    const n = projectNode({ metadata: { name: 'x' }, spec: { podCIDRs: ['nope'] } }, [])!;
    assert.throws(() => nodeSubnets(n), (e: unknown) => e instanceof MalformedInputError && /node "x": spec.podCIDRs="nope": not a CIDR/.test(e.message));
  });
});
