/**
 * The kernel WireGuard messages, byte for byte against include/uapi/linux/wireguard.h: the
 * genlmsghdr (cmd, version 1), WGDEVICE_A_* at the top, peers as a nested array (NLA_F_NESTED
 * on every level), u16 attributes in host order, endpoints as struct sockaddr_in/_in6.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { encodeGetFamily, GENL_ID_CTRL, parseFamilyId } from '../../../src/kernel/genetlink.js';
import { parseAttrs } from '../../../src/kernel/netlink-codec.js';
import { NetlinkSocket } from '../../../src/kernel/netlink-socket.js';
import type { RawSocket } from '../../../src/kernel/raw-socket.js';
import {
  GenlWireguard,
  encodeGetDevice,
  encodeSetDevice,
  encodeSockaddr,
  parseDeviceDump,
  parseSockaddr,
} from '../../../src/kernel/wireguard-genl.js';

const K1 = Buffer.alloc(32, 0x11);
const K2 = Buffer.alloc(32, 0x22);
const PSK = Buffer.alloc(32, 0x33);
const h = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p.replace(/\s+/g, ''), 'hex') : p)));

describe('generic netlink: resolving a family', () => {
  it('CTRL_CMD_GETFAMILY names the family', () => {
    // genlmsghdr (cmd 3, version 1) + CTRL_ATTR_FAMILY_NAME "wireguard\0" (len 14, padded to 16)
    assert.deepEqual(encodeGetFamily('wireguard'), h('03 01 0000', '0e00 0200', Buffer.from('wireguard\0'), '0000'));
  });

  it('reads CTRL_ATTR_FAMILY_ID (u16) from the answer', () => {
    assert.equal(parseFamilyId(h('01 02 0000', '0600 0100 1b00 0000', '0e00 0200', Buffer.from('wireguard\0'), '0000')), 0x1b);
    assert.equal(parseFamilyId(h('01 02 0000')), undefined);
  });
});

describe('WireGuard generic netlink messages', () => {
  it('WG_CMD_GET_DEVICE names the device', () => {
    assert.deepEqual(encodeGetDevice('wg0'), h('00 01 0000', '0800 0200', Buffer.from('wg0\0')));
  });

  it('WG_CMD_SET_DEVICE: key, port, replace-peers, one peer with PSK, endpoint, keepalive, replaced allowed IPs', () => {
    const [body, ...rest] = encodeSetDevice('wg0', {
      privateKey: K1,
      listenPort: 51820,
      replacePeers: true,
      peers: [
        {
          publicKey: K2,
          presharedKey: PSK,
          endpoint: { ip: IPAddress.parse('192.168.77.12'), port: 51820 },
          persistentKeepalive: 25,
          replaceAllowedIps: true,
          allowedIps: [IPNetwork.parse('10.5.3.0/24')],
        },
      ],
    });
    assert.equal(rest.length, 0);
    const want = h(
      '01 01 0000', // genlmsghdr: WG_CMD_SET_DEVICE, version 1
      '0800 0200', Buffer.from('wg0\0'), // WGDEVICE_A_IFNAME
      '2400 0300', K1, // WGDEVICE_A_PRIVATE_KEY
      '0600 0600 6cca 0000', // WGDEVICE_A_LISTEN_PORT 51820 (u16, host order) + pad
      '0800 0500 01000000', // WGDEVICE_A_FLAGS = WGDEVICE_F_REPLACE_PEERS
      '9400 0880', // WGDEVICE_A_PEERS | NLA_F_NESTED, 148 bytes
      '9000 0080', //   peer 0 | NLA_F_NESTED, 144 bytes
      '2400 0100', K2, //   WGPEER_A_PUBLIC_KEY
      '0800 0300 02000000', //   WGPEER_A_FLAGS = WGPEER_F_REPLACE_ALLOWEDIPS
      '2400 0200', PSK, //   WGPEER_A_PRESHARED_KEY
      '1400 0400 0200 ca6c c0a84d0c 0000000000000000', //   WGPEER_A_ENDPOINT: sockaddr_in AF_INET, port 51820 (network order), 192.168.77.12
      '0600 0500 1900 0000', //   WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL 25 (u16) + pad
      '2000 0980', //   WGPEER_A_ALLOWEDIPS | NLA_F_NESTED, 32 bytes
      '1c00 0080', //     allowed IP 0 | NLA_F_NESTED, 28 bytes
      '0600 0100 0200 0000', //     WGALLOWEDIP_A_FAMILY AF_INET (u16) + pad
      '0800 0200 0a050300', //     WGALLOWEDIP_A_IPADDR 10.5.3.0
      '0500 0300 18 000000', //     WGALLOWEDIP_A_CIDR_MASK 24 (u8) + pad
    );
    assert.equal(body?.toString('hex'), want.toString('hex'));
  });

  it('removes a peer with WGPEER_F_REMOVE_ME and nothing else; update-only is its own flag', () => {
    const [body] = encodeSetDevice('wg0', { peers: [{ publicKey: K2, remove: true }, { publicKey: K1, updateOnly: true }] });
    const want = h(
      '01 01 0000',
      '0800 0200', Buffer.from('wg0\0'),
      '6400 0880', // peers, 100 bytes
      '3000 0080', '2400 0100', K2, '0800 0300 01000000', // peer 0 (48 bytes): key, WGPEER_F_REMOVE_ME
      '3000 0180', '2400 0100', K1, '0800 0300 04000000', // peer 1 (48 bytes): key, WGPEER_F_UPDATE_ONLY
    );
    assert.equal(body?.toString('hex'), want.toString('hex'));
  });

  it('encodes an IPv6 endpoint as sockaddr_in6 and an IPv6 allowed IP', () => {
    assert.deepEqual(
      encodeSockaddr({ ip: IPAddress.parse('fd77::12'), port: 51821 }),
      h('0a00 ca6d 00000000 fd770000000000000000000000000012 00000000'),
    );
    assert.deepEqual(parseSockaddr(encodeSockaddr({ ip: IPAddress.parse('fd77::12'), port: 51821 })), { ip: IPAddress.parse('fd77::12'), port: 51821 });
    const [body] = encodeSetDevice('wg0', { peers: [{ publicKey: K2, allowedIps: [IPNetwork.parse('fc00:5:0:3::/64')] }] });
    const allowed = h('0600 0100 0a00 0000', '1400 0200 fc000005000000030000000000000000', '0500 0300 40 000000');
    assert.ok(body?.includes(allowed), 'WGALLOWEDIP_A_FAMILY AF_INET6, 16-byte address, mask 64');
  });

  it('splits many peers over messages; only the first replaces peers and carries the device attributes', () => {
    const peers = Array.from({ length: 300 }, (_, i) => {
      const k = Buffer.alloc(32);
      k.writeUInt16BE(i, 0);
      return { publicKey: k, endpoint: { ip: IPAddress.parse('192.168.77.12'), port: 51820 }, replaceAllowedIps: true, allowedIps: [IPNetwork.parse('10.5.3.0/24')] };
    });
    const bodies = encodeSetDevice('wg0', { privateKey: K1, listenPort: 1, replacePeers: true, peers }, 4096);
    assert.ok(bodies.length > 1, `${bodies.length} messages`);
    const seen: number[] = [];
    bodies.forEach((b, n) => {
      assert.ok(b.length <= 4096 + 200, `message ${n}: ${b.length} bytes`);
      const a = parseAttrs(b, 4);
      assert.equal(a.has(5), n === 0, `WGDEVICE_A_FLAGS only in the first (message ${n})`);
      assert.equal(a.has(3), n === 0, `WGDEVICE_A_PRIVATE_KEY only in the first (message ${n})`);
      assert.equal(a.get(2)?.toString(), 'wg0\0', `every message names the device (message ${n})`);
      const list = a.get(8) as Buffer;
      let off = 0;
      while (off < list.length) {
        const len = list.readUInt16LE(off);
        seen.push((parseAttrs(list.subarray(off + 4, off + len)).get(1) as Buffer).readUInt16BE(0));
        off += (len + 3) & ~3;
      }
    });
    assert.deepEqual(seen, peers.map((_, i) => i));
  });

  it('reads a device dump, joining a peer continued in the next part', () => {
    const peerA1 = h(
      '2400 0100', K2,
      '2400 0200', Buffer.alloc(32),
      '1400 0400 0200 ca6c c0a84d0c 0000000000000000',
      '0600 0500 1900 0000',
      '1400 0600', '00e1f50500000000 0000000000000000', // last handshake: 100000000 s
      '0c00 0700 0a00000000000000', // rx 10
      '0c00 0800 1400000000000000', // tx 20
      '2000 0980', '1c00 0080', '0600 0100 0200 0000', '0800 0200 0a050300', '0500 0300 18 000000',
    );
    const peerA2 = h('2400 0100', K2, '2000 0980', '1c00 0080', '0600 0100 0200 0000', '0800 0200 0a060000', '0500 0300 10 000000');
    const nest = (type: number, items: Buffer[]) => {
      const inner = Buffer.concat(items.map((it, i) => h(Buffer.from([(it.length + 4) & 0xff, (it.length + 4) >> 8, i, 0x80]), it)));
      return h(Buffer.from([(inner.length + 4) & 0xff, (inner.length + 4) >> 8, type, 0x80]), inner);
    };
    const part1 = h('00 01 0000', '0800 0100 05000000', '2400 0300', K1, '2400 0400', PSK, '0600 0600 6cca 0000', nest(8, [peerA1]));
    const part2 = h('00 01 0000', '0800 0100 05000000', nest(8, [peerA2]));
    const state = parseDeviceDump([
      { type: 0x1b, flags: 2, seq: 1, pid: 0, payload: part1 },
      { type: 0x1b, flags: 2, seq: 1, pid: 0, payload: part2 },
    ]);
    assert.deepEqual(state.privateKey, K1);
    assert.deepEqual(state.publicKey, PSK);
    assert.equal(state.listenPort, 51820);
    assert.equal(state.peers.length, 1);
    const p = state.peers[0];
    assert.deepEqual(p?.publicKey, K2);
    assert.equal(p?.presharedKey, undefined);
    assert.equal(p?.endpoint?.ip.toString(), '192.168.77.12');
    assert.equal(p?.endpoint?.port, 51820);
    assert.equal(p?.persistentKeepalive, 25);
    assert.equal(p?.lastHandshakeSec, 100000000);
    assert.equal(p?.rxBytes, 10n);
    assert.equal(p?.txBytes, 20n);
    assert.deepEqual(p?.allowedIps.map(String), ['10.5.3.0/24', '10.6.0.0/16']);
  });
});

/** A stand-in kernel on a fake datagram socket: a controller that knows `wireguard`, and one device. */
class FakeGenlKernel extends EventEmitter {
  readonly requests: { type: number; flags: number; cmd: number; body: Buffer }[] = [];
  constructor(private readonly dumpParts: Buffer[]) {
    super();
  }
  send(msg: Buffer, _opts: unknown, cb: (err?: Error) => void): void {
    cb();
    const type = msg.readUInt16LE(4);
    const flags = msg.readUInt16LE(6);
    const seq = msg.readUInt32LE(8);
    const body = msg.subarray(16, msg.readUInt32LE(0));
    this.requests.push({ type, flags, cmd: body.readUInt8(0), body });
    const reply = (t: number, f: number, payload: Buffer) => {
      const m = Buffer.alloc(16 + payload.length);
      m.writeUInt32LE(m.length, 0);
      m.writeUInt16LE(t, 4);
      m.writeUInt16LE(f, 6);
      m.writeUInt32LE(seq, 8);
      payload.copy(m, 16);
      return m;
    };
    const ack = reply(2, 0, Buffer.alloc(20));
    setImmediate(() => {
      if (type === GENL_ID_CTRL) this.emit('message', Buffer.concat([reply(GENL_ID_CTRL, 0, h('01 02 0000', '0600 0100 1b00 0000')), ack]), { port: 0 });
      else if (flags & 0x300) this.emit('message', Buffer.concat([...this.dumpParts.map((p) => reply(0x1b, 2, p)), reply(3, 2, Buffer.alloc(4))]), { port: 0 });
      else this.emit('message', ack, { port: 0 });
    });
  }
  close(): void {}
  ref(): void {}
  unref(): void {}
  addMembership(): void {}
  setRecvBufferSize(): void {}
  getRecvBufferSize(): number {
    return 0;
  }
}

describe('GenlWireguard over a socket', () => {
  it('resolves the family once, gets with a dump, sets with acknowledged requests', async () => {
    const fake = new FakeGenlKernel([h('00 01 0000', '0600 0600 6cca 0000')]);
    const ctl = new GenlWireguard('flannel-wg', () => NetlinkSocket.fromRaw(fake as unknown as RawSocket));
    const state = await ctl.get();
    assert.equal(state.listenPort, 51820);
    await ctl.set({ listenPort: 51821 });
    assert.deepEqual(
      fake.requests.map((r) => [r.type, r.flags, r.cmd]),
      [
        [GENL_ID_CTRL, 0x05, 3], // REQUEST|ACK, CTRL_CMD_GETFAMILY
        [0x1b, 0x301, 0], // REQUEST|DUMP, WG_CMD_GET_DEVICE
        [0x1b, 0x05, 1], // REQUEST|ACK, WG_CMD_SET_DEVICE
      ],
    );
    ctl.close();
  });
});
