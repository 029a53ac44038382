/** The udp backend's options and its peer table following the leases (no kernel, no addon). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffEntries } from '../../../../src/backend/peer-entries.js';
import { parseUdpConfig } from '../../../../src/backend/udp/udp-config.js';
import { UdpDataPath } from '../../../../src/backend/udp/udp-data-path.js';
import type { UdpPeer } from '../../../../src/backend/udp/udp-tunnel.js';
import { validateNetworkConfig } from '../../../../src/config/network-config.js';
import { ConfigError } from '../../../../src/errors.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';
import type { Lease } from '../../../../src/lease/lease.js';

const NET = IPNetwork.parse('10.5.0.0/16');
const conf = (c: Record<string, unknown>) => validateNetworkConfig({ Network: '10.5.0.0/16', ...c, Backend: { Type: 'udp', ...(c.Backend as object) } }, { knownBackends: ['udp'] });

function lease(subnet: string | undefined, pub: string | undefined, type?: string): Lease {
  return {
    subnet: subnet ? IPNetwork.parse(subnet) : undefined,
    ipv6Subnet: undefined,
    expiration: undefined,
    attrs: { publicIP: pub ? IPAddress.parse(pub) : undefined, publicIPv6: undefined, backendType: type, backendData: undefined, backendV6Data: undefined },
  };
}

function fakeTunnel() {
  const table = new Map<string, UdpPeer>();
  const ops: string[] = [];
  return {
    ops,
    index: 9,
    ensure: async () => {},
    peers: () => [...table.values()],
    setPeer: (p: UdpPeer) => {
      ops.push(`set ${p.key} ${p.fingerprint}`);
      table.set(p.key, p);
    },
    delPeer: (p: UdpPeer) => {
      ops.push(`del ${p.key}`);
      table.delete(p.key);
    },
  };
}

describe('udp backend', () => {
  test("options: Port defaults to 8285, must be 1..65535; IPv6 is an error", () => {
    assert.equal(parseUdpConfig(conf({})).port, 8285);
    assert.equal(parseUdpConfig(conf({ Backend: { Port: 9000 } })).port, 9000);
    assert.throws(() => parseUdpConfig(conf({ Backend: { Port: 0 } })), /Backend\.Port=0: must be between 1 and 65535/);
    assert.throws(() => parseUdpConfig(conf({ Backend: { Port: '8285' } })), /Backend\.Port="8285": must be an integer/);
    assert.throws(
      () => parseUdpConfig(conf({ EnableIPv6: true, IPv6Network: 'fc00:5::/48' })),
      (e: unknown) => e instanceof ConfigError && /EnableIPv6=true: the udp backend carries IPv4 only/.test(e.message),
    );
  });

  test('a peer per lease: its subnet to its public IP on our port; udp leases have no BackendType', () => {
    const dp = new UdpDataPath(fakeTunnel(), 8285, NET);
    const e = dp.entriesFor(lease('10.5.3.0/24', '192.168.77.12'));
    assert.ok(!('skip' in e));
    assert.deepEqual(e.routes, []);
    assert.deepEqual(
      e.objects?.map((o) => [o.key, o.fingerprint]),
      [['10.5.3.0/24', '192.168.77.12:8285']],
    );
    assert.deepEqual(dp.entriesFor(lease('10.5.3.0/24', '192.168.77.12', 'vxlan')), { skip: 'backend type vxlan is not udp' });
    assert.ok(!('skip' in dp.entriesFor(lease('10.5.3.0/24', '192.168.77.12', 'udp'))));
    assert.deepEqual(dp.entriesFor(lease(undefined, '192.168.77.12')), { skip: 'no IPv4 subnet (the udp backend carries IPv4 only)' });
    assert.deepEqual(dp.entriesFor(lease('10.5.3.0/24', undefined)), { skip: 'no public IPv4 address' });
    assert.match((dp.entriesFor(lease('10.6.3.0/24', '192.168.77.12')) as { skip: string }).skip, /outside the network/);
  });

  test('the table follows the diff: new peers set, moved peers re-set, gone peers deleted', async () => {
    const t = fakeTunnel();
    const dp = new UdpDataPath(t, 8285, NET);
    const want = (ls: Lease[]) => ({ routes: [], neighbors: [], fdb: [], objects: ls.flatMap((l) => (dp.entriesFor(l) as unknown as { objects: UdpPeer[] }).objects) });
    const apply = async (ls: Lease[]) => dp.applyObjects(diffEntries(want(ls), await dp.dumpOwned()).objects);
    await apply([lease('10.5.3.0/24', '192.168.77.12'), lease('10.5.4.0/24', '192.168.77.13')]);
    await apply([lease('10.5.3.0/24', '192.168.77.99'), lease('10.5.4.0/24', '192.168.77.13')]);
    await apply([lease('10.5.3.0/24', '192.168.77.99')]);
    assert.deepEqual(t.ops, ['set 10.5.3.0/24 192.168.77.12:8285', 'set 10.5.4.0/24 192.168.77.13:8285', 'set 10.5.3.0/24 192.168.77.99:8285', 'del 10.5.4.0/24']);
  });
});
