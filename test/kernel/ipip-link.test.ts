/**
 * The ipip backend's netlink messages, byte for byte, against a fake kernel (no root, no ipip
 * module needed): the link flannel creates (IFLA_IPTUN_* as flannel's netlink library sends
 * them), adopting or re-creating an existing device, a kernel without ipip, and the routes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IpipDataPath } from '../../src/backend/ipip/ipip-data-path.js';
import { IPAddress } from '../../src/ip/ip-address.js';
import { IPNetwork } from '../../src/ip/ip-network.js';
import { KernelError } from '../../src/errors.js';
import { IFLA_IPTUN, LinkKindError, encodeIpip, ensureIpip, parseIpipInfo } from '../../src/kernel/ipip-link.js';
import { NetlinkKernel } from '../../src/kernel/kernel-ops.js';
import { encodeIfinfo, type Link } from '../../src/kernel/link.js';
import { AttrWriter, encodeMessage, type NetlinkMessage } from '../../src/kernel/netlink-codec.js';
import { NLMSG_ERROR, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, RTM_NEWROUTE } from '../../src/kernel/netlink-constants.js';
import { NetlinkSocket } from '../../src/kernel/netlink-socket.js';
import type { Lease } from '../../src/lease/lease.js';
import { FakeRawSocket, type FakeAnswer } from './fixtures/fake-raw-socket.js';

const LOCAL = IPAddress.parse('192.168.77.11');
const hex = (b: Buffer) => b.toString('hex').replace(/(.{8})/g, '$1 ').trim();

/**
 * The RTM_NEWLINK body written out by hand from linux/if_link.h, linux/if_tunnel.h and the
 * attribute order of vishvananda/netlink's linkModify + addIptunAttrs (v1.3.1, flannel's).
 */
const FLANNEL_IPIP_BODY = [
  '00000000 00000000 00000000 00000000', // ifinfomsg: AF_UNSPEC, type 0, index 0, flags 0, change 0
  '11000300 666c616e 6e656c2e 69706970 00000000', // IFLA_IFNAME "flannel.ipip\0" (17 bytes, padded)
  '08000d00 00000000', // IFLA_TXQLEN 0
  '58001200', // IFLA_LINKINFO (88 bytes)
  '08000100 69706970', //   IFLA_INFO_KIND "ipip" (no NUL)
  '4c000200', //   IFLA_INFO_DATA (76 bytes)
  '08000200 c0a84d0b', //     IFLA_IPTUN_LOCAL 192.168.77.11
  '05000a00 00000000', //     IFLA_IPTUN_PMTUDISC 0
  '05000400 00000000', //     IFLA_IPTUN_TTL 0 (inherit)
  '05000500 00000000', //     IFLA_IPTUN_TOS 0
  '06000f00 00000000', //     IFLA_IPTUN_ENCAP_TYPE 0
  '06001000 00000000', //     IFLA_IPTUN_ENCAP_FLAGS 0
  '06001100 00000000', //     IFLA_IPTUN_ENCAP_SPORT 0
  '06001200 00000000', //     IFLA_IPTUN_ENCAP_DPORT 0
  '05000900 00000000', //     IFLA_IPTUN_PROTO 0
].join(' ');

/** An RTM_NEWLINK reply for a link of `kind` with optional ipip local/remote. */
function linkReply(index: number, kind: string | undefined, ipip: { local?: string; remote?: string } = {}): Buffer {
  const w = new AttrWriter(encodeIfinfo(index)).str(3, 'flannel.ipip').u32(4, 1480);
  if (kind) {
    w.nested(18, (li) => {
      li.str(1, kind);
      li.nested(2, (d) => {
        if (ipip.local) d.ip(IFLA_IPTUN.LOCAL, IPAddress.parse(ipip.local));
        if (ipip.remote) d.ip(IFLA_IPTUN.REMOTE, IPAddress.parse(ipip.remote));
        d.u8(IFLA_IPTUN.TTL, 0).u8(IFLA_IPTUN.PMTUDISC, 0);
      });
    });
  }
  return w.toBuffer();
}

function ack(seq: number, errno = 0): Buffer {
  const body = Buffer.alloc(20);
  body.writeInt32LE(-errno, 0);
  return encodeMessage(NLMSG_ERROR, 0, seq, body);
}

/** A fake kernel: `answer` decides each request; a GETLINK gets `links()`'s reply and an ACK. */
function fakeKernel(answer: (m: NetlinkMessage) => FakeAnswer, link: () => Buffer): { raw: FakeRawSocket; nl: NetlinkSocket } {
  const raw: FakeRawSocket = new FakeRawSocket((m) => {
    if (m.type === RTM_GETLINK) {
      setImmediate(() => raw.deliver(Buffer.concat([encodeMessage(RTM_NEWLINK, 0, m.seq, link()), ack(m.seq)])));
      return { silent: true };
    }
    return answer(m);
  });
  return { raw, nl: NetlinkSocket.fromRaw(raw) };
}

describe('ipip link messages', () => {
  test("the create request is flannel's, byte for byte", async () => {
    assert.equal(hex(encodeIpip({ name: 'flannel.ipip', local: LOCAL })), FLANNEL_IPIP_BODY);
    const { raw, nl } = fakeKernel(() => ({ errno: 0 }), () => linkReply(7, 'ipip', { local: '192.168.77.11' }));
    const res = await ensureIpip(nl, { name: 'flannel.ipip', local: LOCAL });
    assert.equal(res.created, true);
    const [create] = raw.requests;
    assert.ok(create);
    assert.equal(create.type, RTM_NEWLINK);
    // NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, as netlink.LinkAdd.
    assert.equal(create.flags, 0x605);
    assert.equal(hex(create.payload), FLANNEL_IPIP_BODY);
  });

  test('link attributes parse back', () => {
    const [msg] = [{ type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0, payload: linkReply(7, 'ipip', { local: '192.168.77.11', remote: '10.0.0.1' }) }];
    assert.deepEqual(
      { ...parseIpipInfo(msg), local: parseIpipInfo(msg)?.local?.toString(), remote: parseIpipInfo(msg)?.remote?.toString() },
      { local: '192.168.77.11', remote: '10.0.0.1', ttl: 0, tos: 0, pmtudisc: false },
    );
    assert.equal(parseIpipInfo({ ...msg, payload: linkReply(7, 'vxlan') }), undefined);
  });

  test('an existing device with the right local address is kept; its MTU is set', async () => {
    const { raw, nl } = fakeKernel((m) => (m.type === RTM_NEWLINK && m.flags & 0x400 ? { errno: 17 } : { errno: 0 }), () => linkReply(7, 'ipip', { local: '192.168.77.11' }));
    const res = await ensureIpip(nl, { name: 'flannel.ipip', local: LOCAL, mtu: 1430 });
    assert.equal(res.created, false);
    assert.equal(res.link.mtu, 1430);
    assert.deepEqual(
      raw.requests.map((m) => m.type),
      [RTM_NEWLINK, RTM_GETLINK, RTM_NEWLINK],
    );
    const setMtu = raw.requests[2];
    assert.ok(setMtu);
    assert.equal(setMtu.payload.readInt32LE(4), 7, 'by index');
    assert.equal(hex(setMtu.payload.subarray(16)), '08000400 96050000', 'IFLA_MTU 1430');
  });

  test('one with another local address, or a remote, is deleted and re-created', async () => {
    for (const attrs of [{ local: '192.168.77.99' }, { local: '192.168.77.11', remote: '10.1.1.1' }]) {
      let creates = 0;
      const { raw, nl } = fakeKernel(
        (m) => (m.type === RTM_NEWLINK && m.flags & 0x400 && creates++ === 0 ? { errno: 17 } : { errno: 0 }),
        () => linkReply(7, 'ipip', attrs),
      );
      const res = await ensureIpip(nl, { name: 'flannel.ipip', local: LOCAL });
      assert.equal(res.created, true);
      assert.match(res.recreatedBecause ?? '', attrs.remote ? /^remote: any vs 10\.1\.1\.1$/ : /^local: 192\.168\.77\.11 vs 192\.168\.77\.99$/);
      assert.deepEqual(
        raw.requests.map((m) => m.type),
        [RTM_NEWLINK, RTM_GETLINK, RTM_DELLINK, RTM_NEWLINK, RTM_GETLINK],
      );
      assert.equal(hex(raw.requests[3]?.payload ?? Buffer.alloc(0)), FLANNEL_IPIP_BODY);
    }
  });

  test('a device of that name of another kind is left alone: an error', async () => {
    const { raw, nl } = fakeKernel((m) => (m.type === RTM_NEWLINK ? { errno: 17 } : { errno: 0 }), () => linkReply(7, 'vxlan'));
    await assert.rejects(ensureIpip(nl, { name: 'flannel.ipip', local: LOCAL }), (err: unknown) => {
      assert.ok(err instanceof LinkKindError);
      assert.match(err.message, /^flannel\.ipip exists but is not an ipip device \(kind vxlan\); remove it and try again$/);
      return true;
    });
    assert.ok(!raw.requests.some((m) => m.type === RTM_DELLINK));
  });

  test('a kernel without ipip answers EOPNOTSUPP, reported as such', async () => {
    const { nl } = fakeKernel(() => ({ errno: 95 }), () => Buffer.alloc(0));
    await assert.rejects(ensureIpip(nl, { name: 'flannel.ipip', local: LOCAL }), (err: unknown) => {
      assert.ok(err instanceof KernelError);
      assert.equal(err.errno, 95);
      // Linux's EOPNOTSUPP and ENOTSUP are one number; Node names it ENOTSUP.
      assert.match(err.message, /^add link flannel\.ipip type ipip local 192\.168\.77\.11 ttl inherit nopmtudisc: (ENOTSUP|EOPNOTSUPP)/);
      return true;
    });
  });
});

describe('ipip route messages', () => {
  const ext: Link = { index: 2, name: 'eth0', type: 1, flags: 0, up: true, mtu: 1500 };
  const own: Lease = {
    subnet: IPNetwork.parse('10.5.1.0/24'),
    ipv6Subnet: undefined,
    expiration: undefined,
    attrs: { publicIP: LOCAL, publicIPv6: undefined, backendType: 'ipip', backendData: undefined, backendV6Data: undefined },
  };
  const peer = (subnet: string, pub: string, type = 'ipip'): Lease => ({
    ...own,
    subnet: IPNetwork.parse(subnet),
    attrs: { ...own.attrs, publicIP: IPAddress.parse(pub), backendType: type },
  });
  const device = { index: 7, ensure: async () => {} };

  /** The RTM_NEWROUTE payloads replaceRoutes sends for `lease`'s entries. */
  async function routeRequests(dp: IpipDataPath, lease: Lease): Promise<NetlinkMessage[]> {
    const e = dp.entriesFor(lease);
    assert.ok(!('skip' in e), 'skip' in e ? e.skip : '');
    const raw = new FakeRawSocket();
    await new NetlinkKernel(NetlinkSocket.fromRaw(raw)).replaceRoutes(e.routes);
    return raw.requests;
  }

  test("a peer's route: via its public IP, onlink, through flannel.ipip", async () => {
    const dp = new IpipDataPath({} as never, { directRouting: false }, ext, device, own, [IPNetwork.parse('10.5.0.0/16')]);
    const [m] = await routeRequests(dp, peer('10.5.3.0/24', '10.99.0.12'));
    assert.ok(m);
    assert.equal(m.type, RTM_NEWROUTE);
    assert.equal(m.flags, 0x505, 'NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE');
    assert.equal(
      hex(m.payload),
      [
        '02180000 fe030001 04000000', // rtmsg: AF_INET, /24, table main, proto boot, scope universe, unicast, RTNH_F_ONLINK
        '08000100 0a050300', // RTA_DST 10.5.3.0
        '08000f00 fe000000', // RTA_TABLE 254
        '08000500 0a63000c', // RTA_GATEWAY 10.99.0.12
        '08000400 07000000', // RTA_OIF 7 (flannel.ipip)
      ].join(' '),
    );
  });

  test('DirectRouting: an on-link peer is routed through the interface, still onlink; others through the tunnel', async () => {
    const kernel = {
      linkByIndex: async () => ext,
      listAddresses: async () => [{ linkIndex: 2, ip: LOCAL, prefixLength: 24, scope: 0 }],
    };
    const dp = new IpipDataPath(kernel as never, { directRouting: true }, ext, device, own, [IPNetwork.parse('10.5.0.0/16')]);
    await dp.ensureDevices(AbortSignal.timeout(1000));
    const [near] = await routeRequests(dp, peer('10.5.3.0/24', '192.168.77.12'));
    assert.equal(hex(near?.payload.subarray(-8) ?? Buffer.alloc(0)), '08000400 02000000', 'RTA_OIF 2 (eth0)');
    assert.equal(near?.payload.readUInt32LE(8), 4, 'RTNH_F_ONLINK');
    const [far] = await routeRequests(dp, peer('10.5.4.0/24', '10.99.0.13'));
    assert.equal(hex(far?.payload.subarray(-8) ?? Buffer.alloc(0)), '08000400 07000000', 'RTA_OIF 7 (flannel.ipip)');
  });

  test('leases of other backends, without IPv4 subnet or public IP, or outside the network are skipped', () => {
    const dp = new IpipDataPath({} as never, { directRouting: false }, ext, device, own, [IPNetwork.parse('10.5.0.0/16')]);
    assert.deepEqual(dp.entriesFor(peer('10.5.3.0/24', '10.99.0.12', 'vxlan')), { skip: 'backend type vxlan is not ipip' });
    assert.deepEqual(dp.entriesFor({ ...peer('10.5.3.0/24', '10.99.0.12'), subnet: undefined }), { skip: 'no IPv4 subnet (the ipip backend carries IPv4 only)' });
    assert.deepEqual(dp.entriesFor({ ...peer('10.5.3.0/24', '10.99.0.12'), attrs: { ...own.attrs, publicIP: undefined } }), { skip: 'no public IPv4 address' });
    assert.match((dp.entriesFor(peer('10.6.3.0/24', '10.99.0.12')) as { skip: string }).skip, /outside the network/);
  });
});
