import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolError } from '../../../src/errors.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import type { ToolResult, ToolRunOptions } from '../../../src/kernel/exec-tool.js';
import { createLogger } from '../../../src/log/logger.js';
import { NftTrafficManager } from '../../../src/traffic/nftables/nft-manager.js';
import { V4_LISTING } from './nft-listings.js';

const net = IPNetwork.parse;
const V4 = { network: net('10.244.0.0/16'), subnet: net('10.244.1.0/24') };

/** A fake `nft`: applying a script for ip flannel-ipv4 makes the table list as V4_LISTING. */
class FakeNft {
  listing: string | undefined;
  fullyRandom = true;
  readonly scripts: string[] = [];
  readonly run = async (argv: readonly string[], opts: ToolRunOptions = {}): Promise<ToolResult> => {
    const args = argv.slice(1).join(' ');
    if (args === '-c -f -') {
      if (!this.fullyRandom) throw new ToolError(argv, { exitCode: 1, stderr: 'Error: Could not process rule: Operation not supported' });
      return { stdout: '', stderr: '' };
    }
    if (args === '-f -') {
      const script = opts.stdin ?? '';
      this.scripts.push(script);
      if (script.includes('delete table')) this.listing = undefined;
      else if (script.startsWith('add table ip flannel-ipv4')) this.listing = V4_LISTING;
      return { stdout: '', stderr: '' };
    }
    if (args === '-j list tables ip') {
      const tables = this.listing ? ', {"table": {"family": "ip", "name": "flannel-ipv4", "handle": 1}}' : '';
      return { stdout: `{"nftables": [{"metainfo": {"version": "1.0.6"}}${tables}]}`, stderr: '' };
    }
    if (args === '-j list table ip flannel-ipv4' && this.listing) return { stdout: this.listing, stderr: '' };
    throw new ToolError(argv, { exitCode: 1, stderr: 'Error: No such file or directory' });
  };
}

function setup() {
  const fake = new FakeNft();
  const lines: string[] = [];
  const m = new NftTrafficManager({ logger: createLogger({ sink: { write: (l) => lines.push(l) } }), run: fake.run });
  return { fake, lines, m };
}

describe('NftTrafficManager (fake nft)', () => {
  it('applies one script, then finds the table right and changes nothing', async () => {
    const { fake, m } = setup();
    assert.equal(await m.ensureMasqRules(V4), true);
    assert.equal(fake.scripts.length, 1);
    assert.match(fake.scripts[0] ?? '', /masquerade fully-random\n/);
    assert.equal(await m.ensureForwardRules({ network: V4.network }), false, 'the listing already holds the forward chain');
    assert.equal(await m.ensureMasqRules(V4), false);
    assert.deepEqual(await m.resync(), []);
    assert.equal(fake.scripts.length, 1);
  });

  it('resync rewrites the table when a rule was deleted, logging at info', async () => {
    const { fake, m, lines } = setup();
    await m.ensureMasqRules(V4);
    await m.ensureForwardRules({ network: V4.network });
    const doc = JSON.parse(V4_LISTING) as { nftables: Record<string, { chain?: string }>[] };
    fake.listing = JSON.stringify({ nftables: doc.nftables.filter((x, i) => !(x.rule && i === 5)) });
    const ac = new AbortController();
    const loop = m.startResync({ intervalSec: 1, signal: ac.signal });
    const deadline = Date.now() + 5000;
    while (fake.listing !== V4_LISTING && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await loop;
    assert.equal(fake.listing, V4_LISTING);
    assert.equal(fake.scripts.length, 2);
    assert.ok(fake.scripts[1]?.includes('flush chain ip flannel-ipv4 postrtg'));
    assert.ok(lines.some((l) => l.startsWith('I') && l.includes('nftables rules were missing or altered; restored table ip flannel-ipv4')));
  });

  it('falls back to plain masquerade when the probe fails', async () => {
    const { fake, m, lines } = setup();
    fake.fullyRandom = false;
    await m.ensureMasqRules(V4);
    assert.ok(!(fake.scripts[0] ?? '').includes('fully-random'));
    assert.ok(lines.some((l) => l.startsWith('W') && l.includes('random fully unsupported')));
  });

  it('cleanup deletes both tables and forgets what was ensured', async () => {
    const { fake, m } = setup();
    await m.ensureMasqRules(V4);
    await m.cleanup();
    assert.equal(fake.scripts.at(-1), 'add table ip flannel-ipv4\ndelete table ip flannel-ipv4\nadd table ip6 flannel-ipv6\ndelete table ip6 flannel-ipv6\n');
    assert.deepEqual(await m.resync(), []);
    assert.equal(fake.listing, undefined);
  });
});
