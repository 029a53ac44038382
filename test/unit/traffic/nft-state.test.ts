import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { forwardChain, masqChain } from '../../../src/traffic/nftables/nft-rules.js';
import { chainMatches, describeExpr, parseNftTable, parseNftTables } from '../../../src/traffic/nftables/nft-state.js';
import { masqSpecs } from '../../../src/traffic/traffic-spec.js';
import { V4_LISTING, V6_LISTING } from './nft-listings.js';

const net = IPNetwork.parse;
const [s4, s6] = masqSpecs({
  network: net('10.244.0.0/16'),
  subnet: net('10.244.1.0/24'),
  ipv6Network: net('fd00:10:244::/56'),
  ipv6Subnet: net('fd00:10:244:1::/64'),
});

describe('reading nft -j listings back', () => {
  it('describes the listed rules exactly as the renderer writes them', () => {
    assert.ok(s4 && s6);
    const v4 = parseNftTable(V4_LISTING);
    assert.deepEqual([...v4.keys()], ['postrtg', 'forward']);
    assert.deepEqual(v4.get('postrtg')?.rules, masqChain(s4, true).rules);
    assert.deepEqual(v4.get('forward')?.rules, forwardChain({ family: 4, network: net('10.244.0.0/16') }).rules);
    assert.equal(chainMatches(masqChain(s4, true), v4.get('postrtg')), true);
    assert.equal(chainMatches(forwardChain({ family: 4, network: net('10.244.0.0/16') }), v4.get('forward')), true);
    const v6 = parseNftTable(V6_LISTING);
    assert.deepEqual(v6.get('postrtg')?.rules, masqChain(s6, false).rules);
    assert.equal(chainMatches(masqChain(s6, false), v6.get('postrtg')), true);
  });

  it('notices a missing rule, a changed subnet, a wrong hook and a missing chain', () => {
    assert.ok(s4);
    const v4 = parseNftTable(V4_LISTING);
    const postrtg = v4.get('postrtg');
    assert.ok(postrtg);
    assert.equal(chainMatches(masqChain(s4, false), postrtg), false, 'fully-random differs');
    assert.equal(chainMatches(masqChain({ ...s4, subnet: net('10.244.9.0/24') }, true), postrtg), false);
    assert.equal(chainMatches(masqChain(s4, true), { ...postrtg, rules: postrtg.rules.slice(1) }), false);
    assert.equal(chainMatches(masqChain(s4, true), { ...postrtg, prio: 0 }), false);
    assert.equal(chainMatches(masqChain(s4, true), undefined), false);
  });

  it('lists tables', () => {
    const text = '{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "ip", "name": "flannel-ipv4", "handle": 1}}, {"table": {"family": "inet", "name": "kube-proxy", "handle": 2}}]}';
    assert.deepEqual(parseNftTables(text), [{ family: 'ip', name: 'flannel-ipv4' }]);
    assert.deepEqual(parseNftTables('{"nftables": [{"metainfo": {}}]}'), []);
  });

  it('renders unknown expressions so that they never match, and single addresses as /32 or /128', () => {
    assert.equal(describeExpr({ counter: { packets: 0, bytes: 0 } }), '?{"counter":{"packets":0,"bytes":0}}');
    assert.equal(describeExpr({ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.0.0.1' } }), 'ip saddr 10.0.0.1/32');
    assert.equal(describeExpr({ match: { op: '!=', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: 'fd00::1' } }), 'ip6 daddr != fd00::1/128');
    assert.equal(describeExpr({ masquerade: { flags: ['fully-random', 'persistent'] } }), 'masquerade fully-random persistent');
  });
});
