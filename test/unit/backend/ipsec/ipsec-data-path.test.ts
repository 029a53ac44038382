import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseIpsecConfig } from '../../../../src/backend/ipsec/ipsec-config.js';
import { IpsecDataPath, type IpsecConnObject } from '../../../../src/backend/ipsec/ipsec-data-path.js';
import { ViciClient } from '../../../../src/backend/ipsec/vici-client.js';
import { encodeViciPacket, ViciPacketType, type ViciPacket } from '../../../../src/backend/ipsec/vici-protocol.js';
import type { PeerEntries } from '../../../../src/backend/peer-entries.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';
import type { Lease } from '../../../../src/lease/lease.js';
import { ViciStandIn } from './vici-standin.js';

function lease(subnet: string, pub: string | undefined, type = 'ipsec'): Lease {
  return {
    subnet: IPNetwork.parse(subnet),
    ipv6Subnet: undefined,
    expiration: undefined,
    attrs: { publicIP: pub ? IPAddress.parse(pub) : undefined, publicIPv6: undefined, backendType: type, backendData: undefined, backendV6Data: undefined },
  } as Lease;
}

/** A stand-in charon that records requests and keeps the loaded connection names. */
class StandIn extends ViciStandIn {
  readonly requests: ViciPacket[] = [];
  readonly conns = new Set<string>();
  constructor(path: string) {
    super(path);
    this.reply = (p, sock) => {
      if (p.type === ViciPacketType.EVENT_REGISTER) {
        sock.write(encodeViciPacket(ViciPacketType.EVENT_CONFIRM));
        return;
      }
      this.requests.push(p);
      const m = p.message ?? {};
      if (p.name === 'load-conn') for (const k of Object.keys(m)) this.conns.add(k);
      if (p.name === 'unload-conn') this.conns.delete(String(m['name']));
      if (p.name === 'list-conns') for (const c of this.conns) sock.write(encodeViciPacket(ViciPacketType.EVENT, 'list-conn', { [c]: { version: 'IKEv2' } }));
      sock.write(encodeViciPacket(ViciPacketType.CMD_RESPONSE, undefined, p.name === 'list-conns' ? {} : { success: 'yes' }));
    };
  }
}

const PSK = 'p'.repeat(96);
const objectsOf = (e: PeerEntries | { skip: string }): IpsecConnObject[] => {
  assert.ok(!('skip' in e), JSON.stringify(e));
  return [...((e as PeerEntries).objects ?? [])] as IpsecConnObject[];
};

describe('ipsec data path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipsec-dp-'));
  const standIn = new StandIn(join(dir, 'charon.vici'));
  const cfg = parseIpsecConfig({ PSK, UDPEncap: true });
  const dp = new IpsecDataPath(cfg, new ViciClient(standIn.path, 2000), { publicIP: IPAddress.parse('192.168.1.1'), subnet: IPNetwork.parse('10.5.1.0/24') }, [
    IPNetwork.parse('10.5.0.0/16'),
  ]);
  const signal = new AbortController().signal;
  before(() => standIn.start());
  after(async () => {
    await standIn.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes one connection per peer, named as flannel names it, with the peer's subnet and addresses", () => {
    const [o] = objectsOf(dp.entriesFor(lease('10.5.2.0/24', '192.168.1.2')));
    assert.equal(o?.key, '192.168.1.1-10.5.1.0/24-10.5.2.0/24-192.168.1.2');
    assert.deepEqual(o?.conn, {
      localAddrs: ['192.168.1.1'],
      remoteAddrs: ['192.168.1.2'],
      proposals: ['aes256-sha256-modp4096'],
      encap: true,
      child: {
        name: '10.5.1.0/24-10.5.2.0/24',
        localTs: ['10.5.1.0/24'],
        remoteTs: ['10.5.2.0/24'],
        espProposals: ['aes128gcm16-sha256-prfsha256-ecp256'],
        startAction: 'trap',
        installPolicy: true,
      },
    });
  });

  it('skips leases it cannot use, saying why', () => {
    assert.match((dp.entriesFor(lease('10.5.2.0/24', '192.168.1.2', 'vxlan')) as { skip: string }).skip, /not ipsec/);
    assert.match((dp.entriesFor(lease('10.5.2.0/24', undefined)) as { skip: string }).skip, /no public IPv4/);
    assert.match((dp.entriesFor(lease('10.9.2.0/24', '192.168.1.2')) as { skip: string }).skip, /outside the network/);
  });

  it('loads the PSK, loads and unloads connections, and reloads them all into a restarted charon', async () => {
    await dp.reloadAll(signal);
    const [a] = objectsOf(dp.entriesFor(lease('10.5.2.0/24', '192.168.1.2')));
    const [b] = objectsOf(dp.entriesFor(lease('10.5.3.0/24', '192.168.1.3')));
    assert.ok(a && b);
    await dp.applyObjects({ put: [a, b], del: [] }, signal);
    const owned = await dp.dumpOwned(signal);
    assert.deepEqual(owned.objects?.map((o) => [o.key, o.fingerprint]), [[a.key, a.fingerprint], [b.key, b.fingerprint]]);
    await dp.applyObjects({ put: [], del: [a] }, signal);
    assert.deepEqual([...standIn.conns], [b.key]);
    standIn.conns.clear(); // charon restarted: nothing loaded
    standIn.requests.length = 0;
    await dp.reloadAll(signal);
    assert.deepEqual(standIn.requests.map((r) => r.name), ['load-shared', 'load-conn']);
    assert.deepEqual(standIn.requests[0]?.message, { id: 'flannel-psk', type: 'IKE', data: PSK, owners: [] });
    assert.deepEqual([...standIn.conns], [b.key]);
  });

  it('unloading a peer also terminates its SAs', async () => {
    const [c] = objectsOf(dp.entriesFor(lease('10.5.4.0/24', '192.168.1.4')));
    assert.ok(c);
    await dp.applyObjects({ put: [c], del: [] }, signal);
    standIn.requests.length = 0;
    await dp.applyObjects({ put: [], del: [c] }, signal);
    assert.deepEqual(standIn.requests.map((r) => [r.name, r.message?.['name'] ?? r.message?.['ike']]), [['unload-conn', c.key], ['terminate', c.key]]);
  });
});
