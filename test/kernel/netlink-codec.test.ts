/** Message and attribute encoding, and the pure helpers of the kernel layer: no root needed. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { toKernelEvent } from '../../src/kernel/events.js';
import { replaceFdb } from '../../src/kernel/fdb.js';
import { vxlanIncompatibility, type Link } from '../../src/kernel/link.js';
import { formatMac, parseMac } from '../../src/kernel/mac-address.js';
import {
  AttrWriter,
  encodeMessage,
  ipFromBytes,
  ipToBytes,
  parseAttrs,
  parseMessages,
  readString,
  readU32,
} from '../../src/kernel/netlink-codec.js';
import { AF_BRIDGE, NTF_SELF, NUD_PERMANENT, RTM_DELROUTE } from '../../src/kernel/netlink-constants.js';
import { parseNeighborMessage, replaceNeighbors } from '../../src/kernel/neighbor.js';
import { NetlinkSocket } from '../../src/kernel/netlink-socket.js';
import { describeRoute } from '../../src/kernel/route.js';
import { FakeRawSocket } from './fixtures/fake-raw-socket.js';

describe('netlink codec', () => {
  test('attributes are padded to 4 bytes and nest with the right lengths', () => {
    const buf = new AttrWriter(Buffer.from([1, 2, 3]))
      .str(3, 'flannel.1')
      .nested(18, (w) => w.str(1, 'vxlan').nested(2, (d) => d.u32(1, 7).be16(15, 8472).flag(23)))
      .toBuffer();
    assert.equal(buf.length % 4, 0);
    assert.deepEqual([...buf.subarray(0, 4)], [1, 2, 3, 0]);
    const top = parseAttrs(buf, 4);
    assert.equal(readString(top.get(3)), 'flannel.1');
    const info = parseAttrs(top.get(18) as Buffer);
    assert.equal(readString(info.get(1)), 'vxlan');
    const data = parseAttrs(info.get(2) as Buffer);
    assert.equal(readU32(data.get(1)), 7);
    assert.equal(data.get(15)?.readUInt16BE(0), 8472);
    assert.equal(data.get(23)?.length, 0);
  });

  test('messages frame and split back, several to a datagram', () => {
    const a = encodeMessage(24, 0x501, 7, Buffer.from([1, 2, 3, 4, 5]));
    const b = encodeMessage(25, 0x001, 8, Buffer.alloc(12));
    const msgs = parseMessages(Buffer.concat([a, b]));
    assert.deepEqual(
      msgs.map((m) => [m.type, m.flags, m.seq, m.payload.length]),
      [
        [24, 0x501, 7, 5],
        [25, 0x001, 8, 12],
      ],
    );
    assert.equal(a.length % 4, 0);
  });

  test('addresses and MACs round-trip through their wire bytes', () => {
    for (const text of ['10.244.3.0', '255.255.255.255', 'fd00::1', 'fe80::589b:6cff:fecc:3380']) {
      assert.equal(ipFromBytes(ipToBytes(IPAddress.parse(text)))?.toString(), text);
    }
    assert.equal(formatMac(parseMac('5A-9B-6C-CC-33-80')), '5a:9b:6c:cc:33:80');
    assert.throws(() => parseMac('5a:9b:6c'));
  });
});

describe('kernel layer helpers', () => {
  const existing: Link = {
    index: 5,
    name: 'flannel.1',
    type: 1,
    flags: 0,
    up: true,
    mtu: 1450,
    kind: 'vxlan',
    vxlan: { vni: 1, port: 8472, local: IPAddress.parse('192.168.77.11'), deviceIndex: 2, learning: false, gbp: false, l2miss: false, l3miss: false },
  };
  const spec = { name: 'flannel.1', vni: 1, port: 8472, local: IPAddress.parse('192.168.77.11'), deviceIndex: 2 };

  test('vxlanIncompatibility follows flannel: vni, dev, local, port, gbp, kind', () => {
    assert.equal(vxlanIncompatibility(spec, existing), undefined);
    assert.equal(vxlanIncompatibility({ ...spec, mtu: 1400 }, existing), undefined);
    assert.equal(vxlanIncompatibility({ ...spec, vni: 2 }, existing), 'vni: 2 vs 1');
    assert.equal(vxlanIncompatibility({ ...spec, deviceIndex: 3 }, existing), 'vtep (external) interface: 3 vs 2');
    assert.equal(vxlanIncompatibility({ ...spec, local: IPAddress.parse('192.168.77.12') }, existing), 'vtep (external) IP: 192.168.77.12 vs 192.168.77.11');
    assert.equal(vxlanIncompatibility({ ...spec, port: 4789 }, existing), 'port: 4789 vs 8472');
    assert.equal(vxlanIncompatibility({ ...spec, gbp: true }, existing), 'gbp: true vs false');
    assert.equal(vxlanIncompatibility(spec, { ...existing, kind: 'veth', vxlan: undefined }), 'link type: vxlan vs veth');
  });

  test('routes are described as `ip route` would', () => {
    const dst = IPNetwork.parse('10.244.3.0/24');
    assert.equal(describeRoute({ dst, gateway: dst.ip, linkIndex: 4, onlink: true }), '10.244.3.0/24 via 10.244.3.0 dev #4 onlink');
    assert.equal(describeRoute({ dst: IPNetwork.parse('0.0.0.0/0'), gateway: IPAddress.parse('192.168.1.1'), table: 10 }), 'default via 192.168.1.1 table 10');
  });

  test('neighbours and FDB entries are encoded as flannel programs them', async () => {
    const fake = new FakeRawSocket();
    const nl = NetlinkSocket.fromRaw(fake);
    await replaceNeighbors(nl, [{ linkIndex: 4, ip: IPAddress.parse('10.244.3.0'), hardwareAddr: '5a:9b:6c:cc:33:80' }]);
    await replaceFdb(nl, [{ linkIndex: 4, hardwareAddr: '5a:9b:6c:cc:33:80', dst: IPAddress.parse('192.168.77.12') }]);
    const [neigh, fdb] = fake.requests.map((m) => parseNeighborMessage(m));
    assert.deepEqual(
      { ...neigh, dst: neigh?.dst?.toString() },
      { family: 2, linkIndex: 4, state: NUD_PERMANENT, flags: 0, type: 1, dst: '10.244.3.0', hardwareAddr: '5a:9b:6c:cc:33:80' },
    );
    assert.deepEqual(
      { ...fdb, dst: fdb?.dst?.toString() },
      { family: AF_BRIDGE, linkIndex: 4, state: NUD_PERMANENT, flags: NTF_SELF, type: 0, dst: '192.168.77.12', hardwareAddr: '5a:9b:6c:cc:33:80' },
    );
  });

  test('a route deletion notification becomes a route delete event', () => {
    const body = new AttrWriter(Buffer.from([2, 24, 0, 0, 254, 3, 0, 1, 4, 0, 0, 0]))
      .ip(1, IPAddress.parse('10.244.3.0'))
      .ip(5, IPAddress.parse('10.244.3.0'))
      .u32(4, 4)
      .toBuffer();
    const [msg] = parseMessages(encodeMessage(RTM_DELROUTE, 0, 0, body));
    assert.ok(msg);
    const ev = toKernelEvent(msg);
    assert.equal(ev?.kind, 'route');
    assert.ok(ev?.kind === 'route');
    assert.equal(ev.action, 'delete');
    assert.equal(describeRoute(ev.route), '10.244.3.0/24 via 10.244.3.0 dev #4 onlink');
  });
});
