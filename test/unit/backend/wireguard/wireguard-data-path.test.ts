import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWireguardConfig } from '../../../../src/backend/wireguard/wireguard-config.js';
import { WireguardDataPath, type WgPeerObject } from '../../../../src/backend/wireguard/wireguard-data-path.js';
import type { WireguardDevice } from '../../../../src/backend/wireguard/wireguard-device.js';
import { diffEntries } from '../../../../src/backend/peer-entries.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';
import type { WgControl, WgDeviceSet, WgPeerState } from '../../../../src/kernel/wg-types.js';
import type { Lease } from '../../../../src/lease/lease.js';

const KEY_A = Buffer.alloc(32, 0xa1);
const KEY_B = Buffer.alloc(32, 0xb2);
const NET4 = IPNetwork.parse('10.5.0.0/16');
const NET6 = IPNetwork.parse('fc00:5::/48');

/** A device double: records sets, reports the peers it was given. */
function fakeDevice(name: string, index: number, peers: WgPeerState[] = []): WireguardDevice & { sets: WgDeviceSet[] } {
  const sets: WgDeviceSet[] = [];
  const control: WgControl = {
    implementation: 'userspace',
    get: async () => ({ privateKey: undefined, publicKey: undefined, listenPort: 0, fwmark: 0, peers }),
    set: async (c) => {
      sets.push(c);
    },
  };
  return { name, index, control, sets, ensure: async () => {}, peers: async () => peers } as unknown as WireguardDevice & { sets: WgDeviceSet[] };
}

function lease(over: { subnet?: string; subnet6?: string; pub?: string; pub6?: string; data?: unknown; data6?: unknown; type?: string }): Lease {
  return {
    subnet: over.subnet ? IPNetwork.parse(over.subnet) : undefined,
    ipv6Subnet: over.subnet6 ? IPNetwork.parse(over.subnet6) : undefined,
    expiration: undefined,
    attrs: {
      publicIP: over.pub ? IPAddress.parse(over.pub) : undefined,
      publicIPv6: over.pub6 ? IPAddress.parse(over.pub6) : undefined,
      backendType: over.type ?? 'wireguard',
      backendData: over.data,
      backendV6Data: over.data6,
    },
  };
}

const objectsOf = (e: ReturnType<WireguardDataPath['entriesFor']>): WgPeerObject[] => {
  assert.ok(!('skip' in e), `not skipped: ${'skip' in e ? e.skip : ''}`);
  return (e.objects ?? []) as WgPeerObject[];
};

describe('wireguard data path', () => {
  const local = { publicIP: IPAddress.parse('192.168.77.11'), publicIPv6: IPAddress.parse('fd77::11') };

  it('separate mode: one peer per device with its endpoint, subnet, PSK and keepalive', () => {
    const psk = Buffer.alloc(32, 9);
    const cfg = parseWireguardConfig({ PSK: psk.toString('base64'), PersistentKeepaliveInterval: 25 });
    const v4 = fakeDevice('flannel-wg', 5);
    const v6 = fakeDevice('flannel-wg-v6', 6);
    const dp = new WireguardDataPath(cfg, { v4, v6 }, [NET4, NET6], local);
    const objs = objectsOf(
      dp.entriesFor(
        lease({
          subnet: '10.5.3.0/24',
          subnet6: 'fc00:5:0:3::/64',
          pub: '192.168.77.13',
          pub6: 'fd77::13',
          data: { PublicKey: KEY_A.toString('base64'), Port: 51820 },
          data6: { PublicKey: KEY_A.toString('base64'), Port: 51821 },
        }),
      ),
    );
    assert.deepEqual(
      objs.map((o) => [o.device.name, o.set?.endpoint && `${o.set.endpoint.ip.toString()}:${o.set.endpoint.port}`, o.set?.allowedIps?.map(String), o.set?.persistentKeepalive, o.set?.replaceAllowedIps]),
      [
        ['flannel-wg', '192.168.77.13:51820', ['10.5.3.0/24'], 25, true],
        ['flannel-wg-v6', 'fd77::13:51821', ['fc00:5:0:3::/64'], 25, true],
      ],
    );
    assert.deepEqual(objs[0]?.set?.presharedKey, psk);
  });

  it("uses its own listen port when a peer's data has none (older flannel)", () => {
    const dp = new WireguardDataPath(parseWireguardConfig({ ListenPort: 4000 }), { v4: fakeDevice('flannel-wg', 5) }, [NET4], local);
    const [o] = objectsOf(dp.entriesFor(lease({ subnet: '10.5.3.0/24', pub: '192.168.77.13', data: { PublicKey: KEY_A.toString('base64') } })));
    assert.equal(o?.set?.endpoint?.port, 4000);
  });

  it('skips a peer with malformed data, naming it', () => {
    const dp = new WireguardDataPath(parseWireguardConfig({}), { v4: fakeDevice('flannel-wg', 5) }, [NET4], local);
    const e = dp.entriesFor(lease({ subnet: '10.5.3.0/24', pub: '192.168.77.13', data: { PublicKey: 'short', Port: 51820 } }));
    assert.ok('skip' in e);
    assert.match(e.skip, /peer 192\.168\.77\.13: BackendData\.PublicKey "short"/);
    const other = dp.entriesFor(lease({ subnet: '10.5.3.0/24', pub: '192.168.77.13', type: 'vxlan' }));
    assert.ok('skip' in other && /not wireguard/.test(other.skip));
  });

  it('auto mode: one device, both subnets, IPv4 endpoint between private addresses', () => {
    const both = fakeDevice('flannel-wg', 5);
    const dp = new WireguardDataPath(parseWireguardConfig({ Mode: 'auto' }), { both }, [NET4, NET6], local);
    const [o] = objectsOf(
      dp.entriesFor(
        lease({
          subnet: '10.5.3.0/24',
          subnet6: 'fc00:5:0:3::/64',
          pub: '192.168.77.13',
          pub6: 'fd77::13',
          data: { PublicKey: KEY_A.toString('base64'), Port: 51820 },
          data6: { PublicKey: KEY_A.toString('base64'), Port: 51820 },
        }),
      ),
    );
    assert.equal(o?.set?.endpoint?.ip.toString(), '192.168.77.13');
    assert.deepEqual(o?.set?.allowedIps?.map(String), ['10.5.3.0/24', 'fc00:5:0:3::/64']);
    const dp6 = new WireguardDataPath(parseWireguardConfig({ Mode: 'ipv6' }), { both }, [NET4, NET6], local);
    const [o6] = objectsOf(
      dp6.entriesFor(
        lease({ subnet: '10.5.3.0/24', subnet6: 'fc00:5:0:3::/64', pub: '192.168.77.13', pub6: 'fd77::13', data: { PublicKey: KEY_A.toString('base64'), Port: 1 }, data6: { PublicKey: KEY_A.toString('base64'), Port: 2 } }),
      ),
    );
    assert.equal(o6?.set?.endpoint?.ip.toString(), 'fd77::13');
    assert.equal(o6?.set?.endpoint?.port, 2);
  });

  it('diffs against the device: unchanged peers untouched, a re-keyed peer replaced, a gone one removed', async () => {
    const current: WgPeerState[] = [
      { publicKey: KEY_A, presharedKey: undefined, endpoint: { ip: IPAddress.parse('192.168.77.12'), port: 51820 }, persistentKeepalive: 0, allowedIps: [IPNetwork.parse('10.5.2.0/24')], lastHandshakeSec: 0, rxBytes: 0n, txBytes: 0n },
      { publicKey: KEY_B, presharedKey: undefined, endpoint: { ip: IPAddress.parse('192.168.77.13'), port: 51820 }, persistentKeepalive: 0, allowedIps: [IPNetwork.parse('10.5.3.0/24')], lastHandshakeSec: 0, rxBytes: 0n, txBytes: 0n },
    ];
    const v4 = fakeDevice('flannel-wg', 5, current);
    const dp = new WireguardDataPath(parseWireguardConfig({}), { v4 }, [NET4], local);
    const keyC = Buffer.alloc(32, 0xc3);
    const want = {
      routes: [],
      neighbors: [],
      fdb: [],
      objects: [
        ...objectsOf(dp.entriesFor(lease({ subnet: '10.5.2.0/24', pub: '192.168.77.12', data: { PublicKey: KEY_A.toString('base64'), Port: 51820 } }))),
        ...objectsOf(dp.entriesFor(lease({ subnet: '10.5.3.0/24', pub: '192.168.77.13', data: { PublicKey: keyC.toString('base64'), Port: 51820 } }))),
      ],
    };
    const diff = diffEntries(want, await dp.dumpOwned(AbortSignal.timeout(1000)));
    assert.deepEqual(diff.objects.put.map((o) => (o as WgPeerObject).publicKey), [keyC]);
    assert.deepEqual(diff.objects.del.map((o) => (o as WgPeerObject).publicKey), [KEY_B]);
    await dp.applyObjects(diff.objects, AbortSignal.timeout(1000));
    assert.equal(v4.sets.length, 1, 'one set for the device');
    assert.deepEqual(
      v4.sets[0]?.peers?.map((p) => [p.publicKey.toString('hex').slice(0, 2), Boolean(p.remove)]),
      [
        ['b2', true],
        ['c3', false],
      ],
    );
  });
});
