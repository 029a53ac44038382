import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ViciError } from '../../../../src/backend/ipsec/vici-errors.js';
import {
  ViciFramer,
  ViciPacketType,
  decodeViciPacket,
  encodeViciMessage,
  encodeViciPacket,
} from '../../../../src/backend/ipsec/vici-protocol.js';

const hex = (b: Buffer): string => b.toString('hex');
const protocolError = (e: unknown): boolean => e instanceof ViciError && e.code === 'ERR_VICI_PROTOCOL';

describe('VICI wire format', () => {
  it('encodes a request with a key/value, a list and a nested section, byte for byte', () => {
    const bytes = encodeViciPacket(ViciPacketType.CMD_REQUEST, 'load-shared', {
      type: 'IKE',
      owners: ['10.0.0.1'],
      sec: { k: 'v' },
    });
    const body =
      '00' + '0b' + Buffer.from('load-shared').toString('hex') +
      '03' + '04' + Buffer.from('type').toString('hex') + '0003' + Buffer.from('IKE').toString('hex') +
      '04' + '06' + Buffer.from('owners').toString('hex') + '05' + '0008' + Buffer.from('10.0.0.1').toString('hex') + '06' +
      '01' + '03' + Buffer.from('sec').toString('hex') + '03' + '01' + '6b' + '0001' + '76' + '02';
    assert.equal(hex(bytes), (body.length / 2).toString(16).padStart(8, '0') + body);
  });

  it('frames unnamed and message-less packets', () => {
    assert.equal(hex(encodeViciPacket(ViciPacketType.CMD_RESPONSE, undefined, {})), '0000000101');
    assert.equal(hex(encodeViciPacket(ViciPacketType.CMD_UNKNOWN)), '0000000102');
    assert.equal(hex(encodeViciPacket(ViciPacketType.EVENT_REGISTER, 'log')), '00000005' + '03' + '03' + '6c6f67');
    assert.equal(hex(encodeViciPacket(ViciPacketType.EVENT_CONFIRM)), '0000000105');
    assert.throws(() => encodeViciPacket(ViciPacketType.CMD_REQUEST), protocolError);
  });

  it('round-trips a message and keeps key order', () => {
    const msg = { a: '1', conn: { children: { c: { local_ts: ['10.1.0.0/24', '10.1.1.0/24'] } }, version: '2' }, z: '' };
    const p = decodeViciPacket(encodeViciPacket(ViciPacketType.CMD_REQUEST, 'load-conn', msg).subarray(4));
    assert.equal(p.type, ViciPacketType.CMD_REQUEST);
    assert.equal(p.name, 'load-conn');
    assert.deepEqual(p.message, msg);
    assert.deepEqual(Object.keys(p.message ?? {}), ['a', 'conn', 'z']);
  });

  it('encodes binary values as given', () => {
    assert.equal(hex(encodeViciMessage({ d: Buffer.from([0, 255]) })), '03016400020' + '0ff');
  });

  it('refuses malformed input with ERR_VICI_PROTOCOL', () => {
    assert.throws(() => decodeViciPacket(Buffer.from([9])), protocolError); // unknown type
    assert.throws(() => decodeViciPacket(Buffer.from('01030161', 'hex')), protocolError); // truncated value length
    assert.throws(() => decodeViciPacket(Buffer.from('0102', 'hex')), protocolError); // SECTION_END at top
    assert.throws(() => decodeViciPacket(Buffer.from('010501', 'hex')), protocolError); // LIST_ITEM outside list
    assert.throws(() => decodeViciPacket(Buffer.from('0104016c', 'hex')), protocolError); // list never ends
    assert.throws(() => decodeViciPacket(Buffer.from('0200', 'hex')), protocolError); // trailing bytes after CMD_UNKNOWN
    assert.deepEqual(decodeViciPacket(Buffer.from([1])), { type: ViciPacketType.CMD_RESPONSE, name: undefined, message: {} });
    assert.throws(() => encodeViciMessage({ k: 'x'.repeat(65536) }), protocolError);
    assert.throws(() => encodeViciMessage({ ['n'.repeat(256)]: 'x' }), protocolError);
  });

  it('splits a stream into packets whatever the chunking', () => {
    const a = encodeViciPacket(ViciPacketType.CMD_RESPONSE, undefined, { success: 'yes' });
    const b = encodeViciPacket(ViciPacketType.EVENT, 'ike-updown', { up: 'yes' });
    const stream = Buffer.concat([a, b]);
    for (let cut = 1; cut < stream.length; cut++) {
      const f = new ViciFramer();
      const got = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      assert.deepEqual(got.map((g) => hex(g)), [hex(a.subarray(4)), hex(b.subarray(4))], `cut at ${cut}`);
    }
    assert.throws(() => new ViciFramer().push(Buffer.from('00080001', 'hex')), protocolError);
  });
});
