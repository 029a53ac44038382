/**
 * The traffic manager against the real iptables/nft and kernel, inside namespaces of our own
 * (`ftr-<run>-<role>`); the code under test runs in a child process under `ip netns exec`
 * (fixtures/traffic-child.js), checks are made with iptables-save / nft inside the namespace.
 * Needs root, iptables and nft; skipped otherwise. Never touches the root namespace's firewall.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { run } from '../support/command.js';
import { poll } from '../support/poll.js';
import { inNs, link, runChild, startChild, TrafficRun, trafficSkipReason, type BackgroundChild } from './fixtures/traffic-netns.js';

const skip = trafficSkipReason();
const MODES = ['iptables', 'nftables'] as const;
type Mode = (typeof MODES)[number];

const MASQ_V4 = [
  '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
  '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
];
const MASQ_V6_LAST = '-A FLANNEL-POSTRTG ! -s fd00:10:244::/56 -d fd00:10:244::/56 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully';
const NAT_JUMP = '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG';
const FWD_JUMP = '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD';
const NFT_POSTRTG_V4 = [
  'meta mark & 0x00004000 == 0x00004000 return',
  'ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return',
  'ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return',
  'ip saddr != 10.244.0.0/16 ip daddr 10.244.1.0/24 return',
  'ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random',
  'ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random',
];

/** Rule lines of one chain in iptables-save output. */
async function iptRules(ns: string, family: 4 | 6, table: string, chain: string): Promise<string[]> {
  const text = await inNs(ns, [family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', table]);
  return text.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

/** Rule lines of one chain of our nft table (text listing), or undefined when the table is absent. */
async function nftRules(ns: string, family: 4 | 6, chain: string): Promise<string[] | undefined> {
  const [fam, table] = family === 4 ? ['ip', 'flannel-ipv4'] : ['ip6', 'flannel-ipv6'];
  const tables = await inNs(ns, ['nft', 'list', 'tables']);
  if (!tables.split('\n').includes(`table ${fam} ${table}`)) return undefined;
  const text = await inNs(ns, ['nft', 'list', 'table', fam, table]);
  const start = text.indexOf(`\tchain ${chain} {`);
  if (start < 0) return [];
  const body = text.slice(start, text.indexOf('\t}', start)).split('\n').slice(1);
  return body.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('comment ') && !l.startsWith('type '));
}

async function assertRulesPresent(ns: string, mode: Mode): Promise<void> {
  if (mode === 'iptables') {
    assert.deepEqual(await iptRules(ns, 4, 'nat', 'FLANNEL-POSTRTG'), MASQ_V4);
    for (const f of [4, 6] as const) {
      assert.deepEqual(await iptRules(ns, f, 'nat', 'POSTROUTING'), [NAT_JUMP]);
      assert.deepEqual(await iptRules(ns, f, 'filter', 'FORWARD'), [FWD_JUMP]);
      assert.equal((await iptRules(ns, f, 'filter', 'FLANNEL-FWD')).length, 2);
    }
    const v6 = await iptRules(ns, 6, 'nat', 'FLANNEL-POSTRTG');
    assert.equal(v6.length, 6);
    assert.equal(v6[5], MASQ_V6_LAST);
  } else {
    assert.deepEqual(await nftRules(ns, 4, 'postrtg'), NFT_POSTRTG_V4);
    assert.deepEqual(await nftRules(ns, 4, 'forward'), ['ip saddr 10.244.0.0/16 accept', 'ip daddr 10.244.0.0/16 accept']);
    const v6 = await nftRules(ns, 6, 'postrtg');
    assert.equal(v6?.length, 6);
    assert.equal(v6?.[4], 'ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8 masquerade fully-random');
    assert.deepEqual(await nftRules(ns, 6, 'forward'), ['ip6 saddr fd00:10:244::/56 accept', 'ip6 daddr fd00:10:244::/56 accept']);
  }
}

/** Neighbours, addresses and rule counters of the topology, for a failure message. */
async function diagnostics(namespaces: readonly string[]): Promise<string> {
  const out: string[] = [];
  for (const ns of namespaces) {
    for (const argv of [
      ['ip', 'neigh'],
      ['ip', '-6', 'neigh'],
      ['ip', '-br', 'addr'],
      ['nft', 'list', 'ruleset'],
      ['ip6tables-save', '-c', '-t', 'nat'],
    ]) {
      out.push(`# ${ns}: ${argv.join(' ')}`, await inNs(ns, argv).catch((e: unknown) => String(e)));
    }
  }
  return out.join('\n');
}

describe('traffic manager in network namespaces', { skip }, () => {
  let tr: TrafficRun;
  before(async () => {
    tr = await TrafficRun.start();
  });
  after(async () => {
    await tr?.close();
  });

  for (const mode of MODES) {
    describe(`${mode} rules`, () => {
      let ns: string;
      before(async () => {
        ns = await tr.ns(`${mode.slice(0, 3)}`);
      });

      test('applies masq and forward rules for IPv4 and IPv6; a second ensure changes nothing', async () => {
        const r = await runChild<{ first: boolean[]; second: boolean[] }>(ns, ['ensure', mode]);
        assert.deepEqual(r.first, [true, true]);
        assert.deepEqual(r.second, [false, false]);
        await assertRulesPresent(ns, mode);
      });

      test('a restarted manager changes nothing; resync restores rules removed by hand within the interval; rules stay after shutdown', async () => {
        const child = startChild(ns, ['serve', mode]);
        try {
          const ready = await child.next<{ ready: boolean; changed: boolean[] }>();
          assert.deepEqual(ready.changed, [false, false]);
          const restoredWithin = async (what: string, check: () => Promise<boolean>) => {
            const t0 = Date.now();
            await poll(async () => (await check()) || undefined, { what, timeoutMs: 5_000, intervalMs: 100 });
            const ms = Date.now() - t0;
            assert.ok(ms < 3_000, `${what} took ${ms} ms (interval 1 s)`);
          };
          if (mode === 'iptables') {
            await inNs(ns, ['iptables', '-t', 'nat', '-D', 'FLANNEL-POSTRTG', '5']);
            await restoredWithin('deleted MASQUERADE rule restored', async () => (await iptRules(ns, 4, 'nat', 'FLANNEL-POSTRTG')).length === 6);
            assert.deepEqual(await iptRules(ns, 4, 'nat', 'FLANNEL-POSTRTG'), MASQ_V4);

            await inNs(ns, ['ip6tables', '-t', 'nat', '-D', 'POSTROUTING', '1']);
            await inNs(ns, ['ip6tables', '-D', 'FLANNEL-FWD', '2']);
            await inNs(ns, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-m', 'comment', '--comment', 'flanneld masq', '-j', 'FLANNEL-POSTRTG']);
            await restoredWithin('IPv6 jump and forward rule restored, duplicate IPv4 jump removed', async () => {
              return (
                (await iptRules(ns, 6, 'nat', 'POSTROUTING')).length === 1 &&
                (await iptRules(ns, 6, 'filter', 'FLANNEL-FWD')).length === 2 &&
                (await iptRules(ns, 4, 'nat', 'POSTROUTING')).length === 1
              );
            });
          } else {
            const listing = await inNs(ns, ['nft', '-a', 'list', 'chain', 'ip', 'flannel-ipv4', 'postrtg']);
            const handle = /ip daddr != 224\.0\.0\.0\/4 masquerade fully-random # handle (\d+)/.exec(listing)?.[1];
            assert.ok(handle, listing);
            await inNs(ns, ['nft', 'delete', 'rule', 'ip', 'flannel-ipv4', 'postrtg', 'handle', handle]);
            assert.equal((await nftRules(ns, 4, 'postrtg'))?.length, 5);
            await restoredWithin('deleted masquerade rule restored', async () => (await nftRules(ns, 4, 'postrtg'))?.length === 6);
            await inNs(ns, ['nft', 'delete', 'table', 'ip6', 'flannel-ipv6']);
            await restoredWithin('deleted IPv6 table restored', async () => (await nftRules(ns, 6, 'forward'))?.length === 2);
          }
          await assertRulesPresent(ns, mode);
          assert.equal(await child.finish(), 0);
          const { logs } = await child.next<{ logs: string[] }>();
          assert.ok(
            logs.some((l) => l.startsWith('I') && l.includes('rules were missing or altered; restored')),
            `no info line about the restore in:\n${logs.join('\n')}`,
          );
        } finally {
          child.kill();
        }
        // The manager stopped; the rules did not go with it.
        await assertRulesPresent(ns, mode);
      });

      test('cleanup removes every rule, chain and table of ours and nothing else', async () => {
        if (mode === 'iptables') await inNs(ns, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '192.0.2.0/24', '-j', 'MASQUERADE']);
        await runChild(ns, ['cleanup', mode]);
        for (const tool of ['iptables-save', 'ip6tables-save']) {
          const text = await inNs(ns, [tool]);
          assert.doesNotMatch(text, /FLANNEL|flanneld/);
        }
        assert.doesNotMatch(await inNs(ns, ['nft', 'list', 'tables']), /flannel/);
        if (mode === 'iptables') assert.deepEqual(await iptRules(ns, 4, 'nat', 'POSTROUTING'), ['-A POSTROUTING -s 192.0.2.0/24 -j MASQUERADE']);
        await runChild(ns, ['cleanup', mode]); // nothing left to remove: still succeeds
      });
    });
  }

  for (const mode of MODES) {
    test(`${mode}: a pod reaching outside the cluster is seen with the host's address, a pod reaching a pod with its own`, async () => {
      const p = mode.slice(0, 3);
      const [host, pod, pod2, inet] = [await tr.ns(`${p}-host`), await tr.ns(`${p}-pod`), await tr.ns(`${p}-pod2`), await tr.ns(`${p}-inet`)];
      await link({ ns: host, dev: 'hp1', v4: '10.244.1.1/24', v6: 'fd00:10:244:1::1/64' }, { ns: pod, dev: 'eth0', v4: '10.244.1.2/24', v6: 'fd00:10:244:1::2/64' });
      await link({ ns: host, dev: 'hp2', v4: '10.244.2.1/24', v6: 'fd00:10:244:2::1/64' }, { ns: pod2, dev: 'eth0', v4: '10.244.2.2/24', v6: 'fd00:10:244:2::2/64' });
      await link({ ns: host, dev: 'hi0', v4: '203.0.113.254/24', v6: '2001:db8:ffff::fe/64' }, { ns: inet, dev: 'eth0', v4: '203.0.113.1/24', v6: '2001:db8:ffff::1/64' });
      for (const [ns, gw4, gw6] of [
        [pod, '10.244.1.1', 'fd00:10:244:1::1'],
        [pod2, '10.244.2.1', 'fd00:10:244:2::1'],
      ] as const) {
        await run(['ip', '-n', ns, 'route', 'add', 'default', 'via', gw4]);
        await run(['ip', '-n', ns, '-6', 'route', 'add', 'default', 'via', gw6]);
      }
      await inNs(host, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await inNs(host, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);

      let port = 9000;
      const peerSeen = async (from: string, to: string, addr: string): Promise<string> => {
        port++;
        const server = startChild(to, ['udp-serve', addr, String(port)]);
        let sender: BackgroundChild | undefined;
        try {
          await server.next();
          sender = startChild(from, ['udp-send', addr, String(port)]);
          const { peer } = await server.next<{ peer: string }>(25_000);
          return peer;
        } catch (err) {
          throw new Error(`${from} -> ${addr}: ${err instanceof Error ? err.message : String(err)}\n${await diagnostics([host, pod, pod2, inet])}`);
        } finally {
          sender?.kill();
          server.kill();
        }
      };

      // Control: without the rules the outside sees the pod's own address.
      assert.equal(await peerSeen(pod, inet, '203.0.113.1'), '10.244.1.2');

      assert.deepEqual(await runChild(host, ['masq', mode]), { changed: true });
      assert.equal(await peerSeen(pod, inet, '203.0.113.1'), '203.0.113.254');
      assert.equal(await peerSeen(pod, pod2, '10.244.2.2'), '10.244.1.2');
      assert.equal(await peerSeen(pod, inet, '2001:db8:ffff::1'), '2001:db8:ffff::fe');
      assert.equal(await peerSeen(pod, pod2, 'fd00:10:244:2::2'), 'fd00:10:244:1::2');
    });
  }
});
