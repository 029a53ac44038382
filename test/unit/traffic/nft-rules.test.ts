import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { forwardChain, masqChain, renderNftCleanup, renderNftScript } from '../../../src/traffic/nftables/nft-rules.js';
import { masqSpecs } from '../../../src/traffic/traffic-spec.js';

const net = IPNetwork.parse;

describe('nftables rules (flannel pkg/trafficmngr/nftables)', () => {
  it('renders the IPv4 table: postrtg (nat, srcnat) and forward (filter) chains, flushed and refilled', () => {
    const [spec] = masqSpecs({ network: net('10.244.0.0/16'), subnet: net('10.244.1.0/24') });
    assert.ok(spec);
    const script = renderNftScript(4, [masqChain(spec, true), forwardChain({ family: 4, network: net('10.244.0.0/16') })]);
    assert.equal(
      script,
      [
        'add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }',
        'add chain ip flannel-ipv4 postrtg { type nat hook postrouting priority srcnat ; comment "chain to manage traffic masquerading by flannel" ; }',
        'flush chain ip flannel-ipv4 postrtg',
        'add rule ip flannel-ipv4 postrtg meta mark & 0x4000 == 0x4000 return',
        'add rule ip flannel-ipv4 postrtg ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return',
        'add rule ip flannel-ipv4 postrtg ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return',
        'add rule ip flannel-ipv4 postrtg ip saddr != 10.244.0.0/16 ip daddr 10.244.1.0/24 return',
        'add rule ip flannel-ipv4 postrtg ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random',
        'add rule ip flannel-ipv4 postrtg ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random',
        'add chain ip flannel-ipv4 forward { type filter hook forward priority filter ; comment "chain to accept flannel traffic" ; }',
        'flush chain ip flannel-ipv4 forward',
        'add rule ip flannel-ipv4 forward ip saddr 10.244.0.0/16 accept',
        'add rule ip flannel-ipv4 forward ip daddr 10.244.0.0/16 accept',
        '',
      ].join('\n'),
    );
  });

  it('renders the IPv6 table with ip6 matches, ff00::/8 and plain masquerade when fully-random is unsupported', () => {
    const [spec] = masqSpecs({ ipv6Network: net('fd00:10:244::/56'), ipv6Subnet: net('fd00:10:244:1::/64') });
    assert.ok(spec);
    const c = masqChain(spec, false);
    assert.deepEqual(c.rules, [
      'meta mark & 0x4000 == 0x4000 return',
      'ip6 saddr fd00:10:244:1::/64 ip6 daddr fd00:10:244::/56 return',
      'ip6 saddr fd00:10:244::/56 ip6 daddr fd00:10:244:1::/64 return',
      'ip6 saddr != fd00:10:244::/56 ip6 daddr fd00:10:244:1::/64 return',
      'ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8 masquerade',
      'ip6 saddr != fd00:10:244::/56 ip6 daddr fd00:10:244::/56 masquerade',
    ]);
    assert.match(renderNftScript(6, [c]), /^add table ip6 flannel-ipv6 \{ comment "rules for flannel-ipv6" ; \}\nadd chain ip6 flannel-ipv6 postrtg /);
  });

  it('cleanup deletes both tables in one transaction that succeeds when they are absent', () => {
    assert.equal(
      renderNftCleanup(),
      'add table ip flannel-ipv4\ndelete table ip flannel-ipv4\nadd table ip6 flannel-ipv6\ndelete table ip6 flannel-ipv6\n',
    );
  });
});
