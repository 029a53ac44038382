import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadSubnetFacts, parseSubnetFacts } from '../../../src/cni/subnet-facts.js';
import { CniError } from '../../../src/errors.js';

async function code(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CniError, String(err));
    return { code: err.cniCode, message: err.message };
  }
  assert.fail('no error');
}

describe('subnet.env for the plugin', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftc-unit-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses every variable; subnets masked, IPMASQ true only for "true"', () => {
    const f = parseSubnetFacts('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.23.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:5::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=TRUE\n', 'f');
    assert.equal(f.subnet?.toString(), '10.244.23.0/24');
    assert.equal(f.ipv6Subnet?.toString(), 'fc00:0:0:5::/64');
    assert.deepEqual(f.networks.map(String), ['10.244.0.0/16']);
    assert.deepEqual(f.ipv6Networks.map(String), ['fc00::/48']);
    assert.equal(f.mtu, 1450);
    assert.equal(f.ipMasq, false);
  });

  it('a missing file is "try again later" (11)', async () => {
    assert.equal((await code(loadSubnetFacts(join(dir, 'none.env')))).code, 11);
  });

  it('an unreadable file is an I/O failure (5)', async () => {
    const d = join(dir, 'is-a-dir.env');
    await mkdir(d);
    assert.equal((await code(loadSubnetFacts(d))).code, 5);
    if (process.getuid?.() !== 0) {
      const f = join(dir, 'no-access.env');
      await writeFile(f, 'x');
      await chmod(f, 0);
      assert.equal((await code(loadSubnetFacts(f))).code, 5);
    }
  });

  it('a missing variable is named in a decoding failure (6)', async () => {
    const f = join(dir, 'no-mtu.env');
    await writeFile(f, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.23.1/24\nFLANNEL_IPMASQ=true\n');
    const e = await code(loadSubnetFacts(f));
    assert.equal(e.code, 6);
    assert.match(e.message, /is missing FLANNEL_MTU$/);
    const g = join(dir, 'no-subnet.env');
    await writeFile(g, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    assert.match((await code(loadSubnetFacts(g))).message, /missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET$/);
  });

  it('a value that does not parse is a decoding failure (6) naming it', async () => {
    const f = join(dir, 'bad.env');
    await writeFile(f, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.23.1\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const e = await code(loadSubnetFacts(f));
    assert.equal(e.code, 6);
    assert.match(e.message, /FLANNEL_SUBNET="10.244.23.1"/);
    assert.equal((await code(Promise.resolve().then(() => parseSubnetFacts('FLANNEL_MTU=-1', 'x')))).code, 6);
  });
});
