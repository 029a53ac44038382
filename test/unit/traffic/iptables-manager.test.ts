import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolError } from '../../../src/errors.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { createLogger } from '../../../src/log/logger.js';
import { IptablesTrafficManager } from '../../../src/traffic/iptables/iptables-manager.js';
import { FakeIptables } from './fake-iptables.js';

const net = IPNetwork.parse;
const DUAL = {
  network: net('10.244.0.0/16'),
  subnet: net('10.244.1.0/24'),
  ipv6Network: net('fd00:10:244::/56'),
  ipv6Subnet: net('fd00:10:244:1::/64'),
};
const JUMP = '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG';

function setup() {
  const fake = new FakeIptables();
  const lines: string[] = [];
  const logger = createLogger({ sink: { write: (l) => lines.push(l) } });
  const m = new IptablesTrafficManager({ logger, run: fake.run });
  return { fake, lines, m };
}

describe('IptablesTrafficManager (fake iptables)', () => {
  it('applies masq and forward rules for both families with iptables-restore --noflush --wait', async () => {
    const { fake, m } = setup();
    assert.equal(await m.ensureMasqRules(DUAL), true);
    assert.equal(await m.ensureForwardRules({ network: DUAL.network, ipv6Network: DUAL.ipv6Network }), true);
    for (const f of [4, 6] as const) {
      assert.deepEqual(fake.rules(f, 'nat', 'POSTROUTING'), [JUMP]);
      assert.equal(fake.rules(f, 'nat', 'FLANNEL-POSTRTG').length, 6);
      assert.deepEqual(fake.rules(f, 'filter', 'FORWARD'), ['-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD']);
      assert.equal(fake.rules(f, 'filter', 'FLANNEL-FWD').length, 2);
    }
    assert.ok(fake.rules(6, 'nat', 'FLANNEL-POSTRTG').some((l) => l.includes('! -d ff00::/8') && l.endsWith('--random-fully')));
    const restore = fake.calls.find((c) => c.argv[0] === 'ip6tables-restore');
    assert.deepEqual(restore?.argv, ['ip6tables-restore', '--noflush', '--wait']);
  });

  it('changes nothing when ensured again (no duplicates, no restore)', async () => {
    const { fake, m } = setup();
    await m.ensureMasqRules(DUAL);
    await m.ensureForwardRules({ network: DUAL.network });
    const restores = fake.restores().length;
    assert.equal(await m.ensureMasqRules(DUAL), false);
    assert.equal(await m.ensureForwardRules({ network: DUAL.network }), false);
    assert.deepEqual(await m.resync(), []);
    assert.equal(fake.restores().length, restores);
    assert.deepEqual(fake.rules(4, 'nat', 'POSTROUTING'), [JUMP]);
  });

  it('a new manager (restart) finds the rules right and changes nothing', async () => {
    const { fake, m } = setup();
    await m.ensureMasqRules(DUAL);
    const again = new IptablesTrafficManager({ logger: createLogger({ sink: { write: () => {} } }), run: fake.run });
    assert.equal(await again.ensureMasqRules(DUAL), false);
  });

  it('a changed lease rewrites the chain (no stale rules of the old subnet)', async () => {
    const { fake, m } = setup();
    await m.ensureMasqRules({ network: DUAL.network, subnet: DUAL.subnet });
    assert.equal(await m.ensureMasqRules({ network: DUAL.network, subnet: net('10.244.7.0/24') }), true);
    const rules = fake.rules(4, 'nat', 'FLANNEL-POSTRTG');
    assert.equal(rules.length, 6);
    assert.ok(rules.every((l) => !l.includes('10.244.1.0/24')));
    assert.deepEqual(fake.rules(4, 'nat', 'POSTROUTING'), [JUMP]);
  });

  it('resync restores a deleted rule, a deleted jump and removes a duplicated jump, logging at info', async () => {
    const { fake, m, lines } = setup();
    await m.ensureMasqRules(DUAL);
    const want = fake.rules(4, 'nat', 'FLANNEL-POSTRTG');
    fake.edit(4, 'nat', 'FLANNEL-POSTRTG', (r) => r.filter((_, i) => i !== 4));
    fake.edit(6, 'nat', 'POSTROUTING', () => []);
    assert.deepEqual(await m.resync(), ['nat FLANNEL-POSTRTG (IPv4)', 'nat FLANNEL-POSTRTG (IPv6)']);
    assert.deepEqual(fake.rules(4, 'nat', 'FLANNEL-POSTRTG'), want);
    assert.deepEqual(fake.rules(6, 'nat', 'POSTROUTING'), [JUMP]);

    fake.edit(4, 'nat', 'POSTROUTING', (r) => [...r, '-A POSTROUTING -j OTHER', JUMP]);
    const ac = new AbortController();
    const passes: number[] = [];
    const loop = m.startResync({ intervalSec: 1, signal: ac.signal, onPass: (n) => passes.push(n) });
    const deadline = Date.now() + 5000;
    while (fake.rules(4, 'nat', 'POSTROUTING').filter((l) => l === JUMP).length !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    ac.abort();
    await loop;
    assert.equal(fake.rules(4, 'nat', 'POSTROUTING').filter((l) => l === JUMP).length, 1);
    assert.ok(fake.rules(4, 'nat', 'POSTROUTING').includes('-A POSTROUTING -j OTHER'));
    assert.ok(lines.some((l) => l.startsWith('I') && l.includes('iptables rules were missing or altered; restored nat FLANNEL-POSTRTG (IPv4)')));
    // Not flushed on shutdown.
    assert.equal(fake.rules(4, 'nat', 'FLANNEL-POSTRTG').length, 6);
    // The pass that restored the rules was reported (flannel_rule_resyncs_total, _restorations_total).
    assert.ok(passes.length >= 1 && passes.includes(1), `passes: ${passes.join(', ')}`);
  });

  it('leaves out --random-fully with an old iptables', async () => {
    const { fake, m } = setup();
    fake.version = 'iptables v1.6.1';
    await m.ensureMasqRules({ network: DUAL.network, subnet: DUAL.subnet });
    assert.ok(fake.rules(4, 'nat', 'FLANNEL-POSTRTG').every((l) => !l.includes('random-fully')));
    assert.deepEqual(fake.calls.find((c) => c.argv[0] === 'iptables-restore')?.argv, ['iptables-restore', '--noflush']);
  });

  it('cleanup removes every rule and chain of ours and forgets what was ensured', async () => {
    const { fake, m } = setup();
    await m.ensureMasqRules(DUAL);
    await m.ensureForwardRules({ network: DUAL.network, ipv6Network: DUAL.ipv6Network });
    fake.edit(4, 'nat', 'POSTROUTING', (r) => ['-A POSTROUTING -j KUBE-POSTROUTING', ...r]);
    await m.cleanup();
    for (const f of [4, 6] as const) {
      assert.equal(fake.hasChain(f, 'nat', 'FLANNEL-POSTRTG'), false);
      assert.equal(fake.hasChain(f, 'filter', 'FLANNEL-FWD'), false);
      assert.deepEqual(fake.rules(f, 'filter', 'FORWARD'), []);
    }
    assert.deepEqual(fake.rules(4, 'nat', 'POSTROUTING'), ['-A POSTROUTING -j KUBE-POSTROUTING']);
    assert.deepEqual(await m.resync(), []);
    const count = fake.restores().length;
    await m.cleanup();
    assert.equal(fake.restores().length, count, 'a second cleanup has nothing to do');
  });

  it('a failing restore surfaces as a ToolError with argv and stderr', async () => {
    const failing = new IptablesTrafficManager({
      logger: createLogger({ sink: { write: () => {} } }),
      run: async (argv) => {
        if (argv[0] === 'iptables-restore') throw new ToolError(argv, { exitCode: 1, stderr: 'iptables-restore: line 3 failed' });
        return new FakeIptables().run(argv);
      },
    });
    await assert.rejects(failing.ensureMasqRules({ network: DUAL.network, subnet: DUAL.subnet }), (err: unknown) => {
      return err instanceof ToolError && err.code === 'ERR_TOOL' && err.exitCode === 1 && err.argv[0] === 'iptables-restore' && err.stderr.includes('line 3');
    });
  });
});
