import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetworkConfig } from '../../../../src/config/network-config.js';
import { UsageError } from '../../../../src/errors.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import type { LeaseAttrs } from '../../../../src/lease/lease.js';
import { annotationKeys, backendDataJSON, changedAnnotations, desiredAnnotations } from '../../../../src/subnet/kube/kube-annotations.js';
import { nodeToLease, projectNode, sameNodeInfo } from '../../../../src/subnet/kube/kube-node.js';
import { networkUnavailableFalsePatch } from '../../../../src/subnet/kube/node-condition.js';

const K = annotationKeys('flannel.alpha.coreos.com');
const P = 'flannel.alpha.coreos.com/';

function attrs(over: Partial<LeaseAttrs>): LeaseAttrs {
  return { publicIP: undefined, publicIPv6: undefined, backendType: undefined, backendData: undefined, backendV6Data: undefined, ...over };
}

describe('annotationKeys', () => {
  it('completes the prefix as flannel does', () => {
    assert.equal(K.backendType, `${P}backend-type`);
    assert.equal(K.publicIPv6Overwrite, `${P}public-ipv6-overwrite`);
    assert.equal(annotationKeys('example.com/').subnetKubeManaged, 'example.com/kube-subnet-manager');
    assert.equal(annotationKeys('example.com/x').backendData, 'example.com/x-backend-data');
    assert.equal(annotationKeys('example.com/x-').publicIP, 'example.com/x-public-ip');
  });

  it('refuses prefixes flannel refuses', () => {
    for (const bad of ['a/b/c', 'nodots', 'Upper.Case', 'example.com/x y']) {
      assert.throws(() => annotationKeys(bad), UsageError, bad);
    }
  });
});

describe('desiredAnnotations', () => {
  it('vxlan IPv4: type, data as a JSON string, public IP, managed', () => {
    const a = attrs({ publicIP: IPAddress.parse('192.168.77.11'), backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '5a:9b:6c:cc:33:80' } });
    assert.deepEqual(desiredAnnotations({}, a, K), {
      [`${P}backend-type`]: 'vxlan',
      [`${P}backend-data`]: '{"VNI":1,"VtepMAC":"5a:9b:6c:cc:33:80"}',
      [`${P}public-ip`]: '192.168.77.11',
      [`${P}kube-subnet-manager`]: 'true',
    });
  });

  it('vxlan IPv6 only: no backend-data or public-ip, v6 data and address', () => {
    const a = attrs({ publicIPv6: IPAddress.parse('fd77::11'), backendType: 'vxlan', backendV6Data: { VNI: 1, VtepMAC: 'aa:bb:cc:dd:ee:ff' } });
    assert.deepEqual(desiredAnnotations({}, a, K), {
      [`${P}backend-type`]: 'vxlan',
      [`${P}backend-v6-data`]: '{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}',
      [`${P}public-ipv6`]: 'fd77::11',
      [`${P}kube-subnet-manager`]: 'true',
    });
  });

  it('host-gw dual stack: backend data "null" for both families', () => {
    const a = attrs({ publicIP: IPAddress.parse('10.0.0.1'), publicIPv6: IPAddress.parse('fd00::1'), backendType: 'host-gw' });
    const d = desiredAnnotations({}, a, K);
    assert.equal(d[`${P}backend-data`], 'null');
    assert.equal(d[`${P}backend-v6-data`], 'null');
    assert.equal(d[`${P}public-ipv6`], 'fd00::1');
  });

  it('valid overwrites replace the published addresses; invalid ones are ignored', () => {
    const a = attrs({ publicIP: IPAddress.parse('10.0.0.1'), publicIPv6: IPAddress.parse('fd00::1'), backendType: 'host-gw' });
    const d = desiredAnnotations({ [K.publicIPOverwrite]: '203.0.113.1', [K.publicIPv6Overwrite]: '2001:db8::1' }, a, K);
    assert.equal(d[K.publicIP], '203.0.113.1');
    assert.equal(d[K.publicIPv6], '2001:db8::1');
    assert.equal(desiredAnnotations({ [K.publicIPOverwrite]: 'not-an-ip' }, a, K)[K.publicIP], '10.0.0.1');
  });

  it('changedAnnotations returns only what differs, undefined when nothing does', () => {
    assert.equal(changedAnnotations({ a: '1', b: '2', c: '3' }, { a: '1', b: '2' }), undefined);
    assert.deepEqual(changedAnnotations({ a: '1' }, { a: '2', b: '2' }), { a: '2', b: '2' });
  });

  it("backendDataJSON escapes as Go's encoding/json", () => {
    assert.equal(backendDataJSON({ k: '<&>' }), '{"k":"\\u003c\\u0026\\u003e"}');
    assert.equal(backendDataJSON(undefined), 'null');
  });
});

describe('nodeToLease', () => {
  const v4 = parseNetworkConfig('{"Network":"10.244.0.0/16"}', { checkSubnetRanges: false });
  const dual = parseNetworkConfig('{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48"}', { checkSubnetRanges: false });
  const keys = Object.values(K);
  const node = (podCIDRs: string[], ann: Record<string, string>, podCIDR?: string) =>
    projectNode({ metadata: { name: 'n', resourceVersion: '7', annotations: { ...ann, 'unrelated/x': 'y' } }, spec: { podCIDR, podCIDRs } }, keys);
  const managed = { [K.subnetKubeManaged]: 'true', [K.publicIP]: '192.168.1.2', [K.backendType]: 'vxlan', [K.backendData]: '{"VNI":1,"VtepMAC":"aa:aa:aa:aa:aa:aa"}' };

  it('projects only flannel annotations and falls back to spec.podCIDR', () => {
    const n = node([], managed, '10.244.3.0/24');
    assert.ok(n);
    assert.deepEqual(n.podCIDRs, ['10.244.3.0/24']);
    assert.equal(n.annotations['unrelated/x'], undefined);
    assert.ok(sameNodeInfo(n, node([], managed, '10.244.3.0/24')));
    assert.ok(!sameNodeInfo(n, node(['10.244.4.0/24'], managed)));
  });

  it('turns a managed node into its lease', () => {
    const r = nodeToLease(node(['10.244.3.0/24'], managed)!, K, v4);
    assert.ok('lease' in r);
    assert.equal(r.lease.subnet?.toString(), '10.244.3.0/24');
    assert.equal(r.lease.attrs.publicIP?.toString(), '192.168.1.2');
    assert.deepEqual(r.lease.attrs.backendData, { VNI: 1, VtepMAC: 'aa:aa:aa:aa:aa:aa' });
    assert.equal(r.lease.attrs.backendType, 'vxlan');
  });

  it('skips nodes that are not peers, saying why', () => {
    const skip = (n: ReturnType<typeof node>, cfg = v4) => {
      const r = nodeToLease(n!, K, cfg);
      return 'skip' in r ? r.skip : 'lease';
    };
    assert.match(skip(node(['10.244.3.0/24'], { ...managed, [K.subnetKubeManaged]: 'false' })), /kube-subnet-manager/);
    assert.match(skip(node([], managed)), /no IPv4 podCIDR/);
    assert.match(skip(node(['10.244.3.0/24'], { ...managed, [K.publicIP]: 'x' })), /no valid IPv4 address/);
    assert.match(skip(node(['10.244.3.0/24'], { ...managed, [K.backendData]: '{' })), /not JSON/);
    assert.match(skip(node(['10.244.3.0/24'], managed), dual), /no IPv6 podCIDR/);
    assert.match(skip(node(['10.244.3.0/24', '10.244.4.0/24', 'fc00::/64'], managed)), /at most one IPv4 and one IPv6/);
  });

  it('reads dual-stack leases', () => {
    const ann = { ...managed, [K.publicIPv6]: 'fd77::2', [K.backendV6Data]: '{"VNI":1,"VtepMAC":"bb:bb:bb:bb:bb:bb"}' };
    const r = nodeToLease(node(['10.244.3.0/24', 'fc00:0:0:3::/64'], ann)!, K, dual);
    assert.ok('lease' in r);
    assert.equal(r.lease.ipv6Subnet?.toString(), 'fc00:0:0:3::/64');
    assert.equal(r.lease.attrs.publicIPv6?.toString(), 'fd77::2');
  });
});

describe('networkUnavailableFalsePatch', () => {
  it("is flannel's status patch, with Go's time format", () => {
    assert.equal(
      JSON.stringify(networkUnavailableFalsePatch(new Date('2024-05-06T07:08:09.123Z'))),
      '{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","lastHeartbeatTime":"2024-05-06T07:08:09Z","lastTransitionTime":"2024-05-06T07:08:09Z","reason":"FlannelIsUp","message":"Flannel is running on this node"}]}}',
    );
  });
});
