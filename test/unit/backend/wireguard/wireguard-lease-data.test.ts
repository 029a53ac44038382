import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePeerLeaseData, wireguardLeaseData } from '../../../../src/backend/wireguard/wireguard-lease-data.js';
import { encodeLeaseAttrs } from '../../../../src/lease/lease.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';

const KEY = Buffer.alloc(32, 0x5a);
const KEY64 = KEY.toString('base64');

describe('wireguard lease data', () => {
  it("is flannel's exact JSON in the lease value", () => {
    const text = encodeLeaseAttrs({
      publicIP: IPAddress.parse('192.168.77.11'),
      publicIPv6: IPAddress.parse('fd77::11'),
      backendType: 'wireguard',
      backendData: wireguardLeaseData(KEY, 51820),
      backendV6Data: wireguardLeaseData(KEY, 51821),
    });
    assert.equal(
      text,
      `{"PublicIP":"192.168.77.11","PublicIPv6":"fd77::11","BackendType":"wireguard","BackendData":{"PublicKey":"${KEY64}","Port":51820},"BackendV6Data":{"PublicKey":"${KEY64}","Port":51821}}`,
    );
  });

  it("reads a peer's key and port", () => {
    assert.deepEqual(parsePeerLeaseData({ PublicKey: KEY64, Port: 4000 }, 'BackendData'), { publicKey: KEY, port: 4000 });
    assert.deepEqual(parsePeerLeaseData({ PublicKey: KEY64 }, 'BackendData'), { publicKey: KEY, port: undefined });
    assert.deepEqual(parsePeerLeaseData({ PublicKey: KEY64, Port: 0 }, 'BackendData'), { publicKey: KEY, port: undefined });
  });

  it('says why malformed data is unusable', () => {
    assert.match(parsePeerLeaseData(undefined, 'BackendData') as string, /no BackendData/);
    assert.match(parsePeerLeaseData('x', 'BackendData') as string, /not a JSON object/);
    assert.match(parsePeerLeaseData({ PublicKey: 'abc' }, 'BackendV6Data') as string, /BackendV6Data\.PublicKey "abc"/);
    assert.match(parsePeerLeaseData({ PublicKey: KEY64, Port: 70000 }, 'BackendData') as string, /Port 70000/);
    assert.match(parsePeerLeaseData({ PublicKey: KEY64, Port: '1' }, 'BackendData') as string, /Port "1"/);
  });
});
