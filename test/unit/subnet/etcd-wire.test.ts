import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpoint } from '../../../src/subnet/etcd/etcd-endpoint.js';
import { decodeEvent, decodeKeyValue, decodeKeyValues, keyAfter, prefixRangeEnd } from '../../../src/subnet/etcd/etcd-wire.js';
import { UsageError } from '../../../src/errors.js';

const unb64 = (s: string) => Buffer.from(s, 'base64');

test('prefixRangeEnd increments the last byte, carrying over 0xff', () => {
  assert.deepEqual(unb64(prefixRangeEnd('/coreos.com/network/subnets/')), Buffer.from('/coreos.com/network/subnets0'));
  assert.deepEqual(unb64(prefixRangeEnd('a\u00ff')), Buffer.from([0x61, 0xc3, 0xc0]));
  assert.deepEqual(unb64(prefixRangeEnd('')), Buffer.from([0]));
});

test('keyAfter appends a zero byte', () => {
  assert.deepEqual(unb64(keyAfter(Buffer.from('/k').toString('base64'))), Buffer.from([0x2f, 0x6b, 0]));
});

test('decoding fills omitted proto3 zero values', () => {
  assert.deepEqual(decodeKeyValue({ key: 'L2E=' }), { key: '/a', value: '', createRevision: 0, modRevision: 0, version: 0, lease: '0' });
  assert.deepEqual(decodeEvent({ kv: { key: 'L2E=', value: 'eA==', mod_revision: '9', lease: '7587' } }).type, 'put');
  assert.equal(decodeEvent({ type: 'DELETE', kv: { key: 'L2E=', mod_revision: '9' } }).type, 'delete');
});

test('decodeKeyValues decodes a page as decodeKeyValue does, one field at a time', () => {
  const enc = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const page = [
    { key: enc('/coreos.com/network/subnets/10.0.1.0-24'), value: enc('{"PublicIP":"192.168.1.1","PublicIPv6":null}'), create_revision: '5', mod_revision: '7', version: '2', lease: '7587' },
    { key: enc('/a'), value: enc('x'.repeat(5000)), mod_revision: '9' },
    { key: enc('/ü/€'), value: enc('é\u2028😀') },
    { key: 'L2E' /* no padding */, value: 'eA==\n' },
    { key: enc('/empty') },
    {},
  ];
  const out = [decodeKeyValue({ key: 'L3ByZXZpb3Vz' })];
  decodeKeyValues(page, out);
  assert.equal(out.length, page.length + 1);
  assert.equal(out[0]?.key, '/previous');
  page.forEach((kv, i) => assert.deepEqual(out[i + 1], decodeKeyValue(kv)));
  assert.equal(out[3]?.value, 'é\u2028😀');
  const none: ReturnType<typeof decodeKeyValue>[] = [];
  decodeKeyValues([], none);
  assert.deepEqual(none, []);
});

test('endpoint forms', () => {
  assert.deepEqual(parseEndpoint('http://127.0.0.1:2379'), { url: 'http://127.0.0.1:2379', tls: false, host: '127.0.0.1', port: 2379, socketPath: undefined });
  assert.equal(parseEndpoint('https://[::1]:2379').host, '::1');
  assert.equal(parseEndpoint('unix:///run/etcd/localhost:2379').socketPath, '/run/etcd/localhost:2379');
  assert.equal(parseEndpoint('unix://localhost:2379').socketPath, 'localhost:2379');
  assert.equal(parseEndpoint('unixs:///s').tls, true);
  assert.throws(() => parseEndpoint('ftp://x'), UsageError);
  assert.throws(() => parseEndpoint('http://x:1/path'), UsageError);
});
