/**
 * flannelctl docker-opts against flannel's mk-docker-opts.sh: the expected texts below are what
 * the script writes under /bin/sh (dash) for the same subnet.env and flags.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { flannelctlMain } from '../../../src/ctl/ctl-main.js';
import { expandShortOptions, makeDockerOptsCommand } from '../../../src/ctl/docker-opts-command.js';
import { renderDockerOpts, sourcedVariables } from '../../../src/ctl/docker-opts.js';
import { createCtlContext } from '../../../src/ctl/ctl-context.js';
import { parseCtlOptions } from '../../../src/ctl/ctl-options.js';
import { UsageError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'flannelctl-docker-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const subnetFile = join(dir, 'subnet.env');
writeFileSync(subnetFile, SUBNET_ENV);

const BOTH = 'DOCKER_OPT_BIP="--bip=10.244.5.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPTS=" --bip=10.244.5.1/24 --ip-masq=false --mtu=1450"\n';
const CASES: [string[], string][] = [
  [[], BOTH],
  [['-c'], 'DOCKER_OPTS=" --bip=10.244.5.1/24 --ip-masq=false --mtu=1450"\n'],
  [['-i'], 'DOCKER_OPT_BIP="--bip=10.244.5.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\n'],
  [['-m'], 'DOCKER_OPT_BIP="--bip=10.244.5.1/24"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPTS=" --bip=10.244.5.1/24 --mtu=1450"\n'],
  [['-k', 'FOO'], BOTH.replace('DOCKER_OPTS=', 'FOO=')],
  [['-c', '-k', 'DOCKER_NETWORK_OPTIONS'], 'DOCKER_NETWORK_OPTIONS=" --bip=10.244.5.1/24 --ip-masq=false --mtu=1450"\n'],
  [['-ci'], BOTH],
  [['-mc'], 'DOCKER_OPTS=" --bip=10.244.5.1/24 --mtu=1450"\n'],
];

/** Runs docker-opts with a fake routing table. */
async function run(args: string[], env: Record<string, string> = {}, routes: string[] = []) {
  let out = '';
  let err = '';
  const ctx = createCtlContext({ options: parseCtlOptions([], {}), env, io: { stdout: (t) => (out += t), stderr: (t) => (err += t) } });
  const asked: string[] = [];
  const cmd = makeDockerOptsCommand({
    routesVia: (subnet) => {
      asked.push(subnet);
      return Promise.resolve(routes);
    },
  });
  const code = await cmd(ctx, args, AbortSignal.timeout(5000));
  return { code, out, err, asked };
}

describe('flannelctl docker-opts', () => {
  it('writes what mk-docker-opts.sh writes, byte for byte, for each flag combination', async () => {
    for (const [flags, want] of CASES) {
      const dest = join(dir, `opts-${flags.join('')}.env`);
      const r = await run(['-f', subnetFile, '-d', dest, ...flags]);
      assert.equal(r.code, 0, `${flags.join(' ')}: ${r.err}`);
      assert.equal(readFileSync(dest, 'utf8'), want, flags.join(' '));
      assert.deepEqual(r.asked, ['10.244.5.0/24'], 'checks the routing table for the bridge subnet, as the script');
    }
  });

  it('the environment: DOCKER_OPT_* added in name order, the combined key\'s value prepended', async () => {
    const r = await run(['-f', subnetFile, '-d', '-'], { DOCKER_OPTS: '--foo', DOCKER_OPT_ZZ: 'zz' });
    assert.equal(
      r.out,
      'DOCKER_OPT_BIP="--bip=10.244.5.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPT_ZZ="zz"\nDOCKER_OPTS="--foo  --bip=10.244.5.1/24 --ip-masq=false --mtu=1450 zz"\n',
    );
  });

  it('a missing subnet file is no error (FLANNEL_* from the environment, as the script sources over it)', async () => {
    const r = await run(['-f', join(dir, 'nope.env'), '-d', '-']);
    assert.equal(r.code, 0);
    assert.equal(r.out, 'DOCKER_OPTS=""\n');
    const e = await run(['-f', join(dir, 'nope.env'), '-d', '-', '-c'], { FLANNEL_SUBNET: '10.1.2.1/24', FLANNEL_IPMASQ: 'false' });
    assert.equal(e.out, 'DOCKER_OPTS=" --bip=10.1.2.1/24 --ip-masq=true"\n');
  });

  it('IPv6 is not used (flannel\'s script has none)', () => {
    const vars = sourcedVariables({}, 'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:5::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n');
    assert.equal(renderDockerOpts(vars, { individual: false, combined: false, combinedKey: 'DOCKER_OPTS', ipMasq: true }), 'DOCKER_OPT_IPMASQ="--ip-masq=true"\nDOCKER_OPT_MTU="--mtu=1430"\nDOCKER_OPTS=" --ip-masq=true --mtu=1430"\n');
  });

  it('a bad FLANNEL_IPMASQ fails before anything is written', async () => {
    const bad = join(dir, 'bad.env');
    writeFileSync(bad, 'FLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_IPMASQ=yes\n');
    const dest = join(dir, 'never.env');
    const r = await run(['-f', bad, '-d', dest]);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'Invalid value of FLANNEL_IPMASQ: yes\n');
    assert.ok(!existsSync(dest));
  });

  it('a route to the subnet via a gateway fails after writing, as the script', async () => {
    const dest = join(dir, 'routed.env');
    const r = await run(['-f', subnetFile, '-d', dest], {}, ['10.244.5.0/24 via 10.0.0.2 dev eth0']);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'Your routing table already contains the subnet: 10.244.5.0/24 via 10.0.0.2 dev eth0\n');
    assert.equal(readFileSync(dest, 'utf8'), BOTH);
  });

  it('getopts clusters expand; bad flags exit 2 naming them', async () => {
    assert.deepEqual(expandShortOptions(['-ci', '-fX', '-k', 'K', '-help', '-f=a']), ['-c', '-i', '-f', 'X', '-k', 'K', '-help', '-f=a']);
    await assert.rejects(run(['-x']), (e: unknown) => e instanceof UsageError && e.message === 'flag provided but not defined: -x');
    await assert.rejects(run(['-f']), (e: unknown) => e instanceof UsageError && e.message === 'flag needs an argument: -f');
    const k = await run(['-k', 'NOT-A-NAME', '-d', '-']);
    assert.equal(k.code, 2);
    assert.match(k.err, /invalid value "NOT-A-NAME" for flag -k/);
    let err = '';
    const code = await flannelctlMain(['docker-opts', '-x'], {}, { stdout: () => {}, stderr: (t) => (err += t) });
    assert.equal(code, 2);
    assert.equal(err, 'flannelctl docker-opts: flag provided but not defined: -x\n');
  });

  it('through flannelctl main, -o json also prints the options', async () => {
    let out = '';
    const code = await flannelctlMain(['docker-opts', '-f', subnetFile, '-d', join(dir, 'main.env'), '-c', '-o', 'json'], {}, { stdout: (t) => (out += t), stderr: () => {} });
    assert.ok(code === 0 || code === 1, 'exit 1 only if this host routes 10.244.5.0/24 via a gateway');
    assert.deepEqual(JSON.parse(out), { file: join(dir, 'main.env'), subnetFile, options: { DOCKER_OPTS: ' --bip=10.244.5.1/24 --ip-masq=false --mtu=1450' } });
  });
});
