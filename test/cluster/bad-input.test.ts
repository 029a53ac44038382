/**
 * flanneld given bad input: a wrong network config in etcd exits 1 without writing a lease, a
 * wrong flag or FLANNELD_* variable exits 2 with a usage message; each names the field or flag
 * and the value. A missing config key is waited for. Needs root.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EtcdHttpClient } from '../../src/subnet/etcd/etcd-http-client.js';
import { NETWORK_CONFIG_KEY, createCluster, type Cluster } from './harness.js';
import { etcdClient, listSubnetKeys, resetLeases, subnetOf } from './lease-checks.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const GOOD = { Network: '10.5.0.0/16', Backend: { Type: 'alloc' } };

/** A network config (object, or raw text) that must make the agent exit 1 with a log matching `says`. */
const BAD_CONFIGS: Array<{ name: string; config: unknown; env?: Record<string, string>; says: RegExp }> = [
  {
    name: 'malformed config JSON',
    config: '{"Network": "10.5.0.0/16", "Backend": {',
    says: /invalid network config: \(document\)=".*10\.5\.0\.0\/16.*": malformed JSON/,
  },
  { name: 'an invalid CIDR in Network', config: { ...GOOD, Network: '10.5.300.0/16' }, says: /Network="10\.5\.300\.0\/16": invalid CIDR/ },
  { name: 'SubnetLen 31', config: { ...GOOD, SubnetLen: 31 }, says: /SubnetLen=31: must be at most 30/ },
  { name: 'SubnetLen not larger than the network prefix', config: { ...GOOD, SubnetLen: 16 }, says: /SubnetLen=16: must be at least 18/ },
  {
    name: 'SubnetMin outside the network',
    config: { ...GOOD, SubnetMin: '10.6.1.0' },
    says: /SubnetMin="10\.6\.1\.0": outside Network 10\.5\.0\.0\/16/,
  },
  {
    name: 'SubnetMax outside the network',
    config: { ...GOOD, SubnetMax: '10.4.255.0' },
    says: /SubnetMax="10\.4\.255\.0": outside Network 10\.5\.0\.0\/16/,
  },
  {
    name: 'SubnetMin greater than SubnetMax',
    config: { ...GOOD, SubnetMin: '10.5.20.0', SubnetMax: '10.5.10.0' },
    says: /SubnetMin="10\.5\.20\.0": greater than SubnetMax 10\.5\.10\.0/,
  },
  { name: 'an unknown Backend.Type', config: { ...GOOD, Backend: { Type: 'bogus' } }, says: /Backend\.Type="bogus": unknown backend type/ },
  {
    name: 'a bad FLANNEL_RELEASE_COLD_PAGES_SEC',
    config: GOOD,
    env: { FLANNEL_RELEASE_COLD_PAGES_SEC: 'soon' },
    says: /FLANNEL_RELEASE_COLD_PAGES_SEC="soon": must be a whole number of seconds/,
  },
];

/** Command lines that must make the agent exit 2 with a usage message matching `says`. */
const BAD_FLAGS: Array<{ name: string; args?: string[]; env?: Record<string, string>; says: RegExp }> = [
  { name: 'an unknown flag', args: ['-no-such-flag'], says: /flag provided but not defined: -no-such-flag/ },
  {
    name: 'a renew margin of 0',
    args: ['-subnet-lease-renew-margin=0'],
    says: /invalid value "0" for flag -subnet-lease-renew-margin: must be minutes between 1 and 1439/,
  },
  { name: 'a lease TTL under 5 s', args: ['-subnet-lease-ttl=2s'], says: /invalid value "2s" for flag -subnet-lease-ttl: must be at least 5s/ },
  { name: 'a bad boolean', args: ['-ip-masq=maybe'], says: /invalid boolean value "maybe" for -ip-masq/ },
  {
    name: 'a bad FLANNELD_* variable',
    env: { FLANNELD_SUBNET_LEASE_RENEW_MARGIN: 'abc' },
    says: /invalid value "abc" for FLANNELD_SUBNET_LEASE_RENEW_MARGIN/,
  },
];

describe('flanneld given bad input', { skip, timeout: 120_000 }, () => {
  let cluster: Cluster;
  let kv: EtcdHttpClient;

  before(async () => {
    cluster = await createCluster({ hosts: 1 });
    kv = etcdClient(cluster);
  });

  after(async () => {
    kv?.close();
    await cluster?.destroy();
  });

  beforeEach(async () => {
    await resetLeases(cluster, cluster.agents, [1]);
  });

  for (const c of BAD_CONFIGS) {
    it(`exits 1 on ${c.name}, naming the field and value, without taking a lease`, async () => {
      const text = typeof c.config === 'string' ? c.config : JSON.stringify(c.config);
      await cluster.etcdctl(['put', NETWORK_CONFIG_KEY, text]);
      const agent = cluster.startAgent(1, { env: c.env ?? {} });
      assert.equal(await agent.waitForExit(), 1);
      assert.match(await agent.readLog(), c.says);
      assert.deepEqual(await listSubnetKeys(kv), [], 'no lease key written');
    });
  }

  for (const c of BAD_FLAGS) {
    it(`exits 2 on ${c.name}, naming it`, async () => {
      await cluster.putConfig(GOOD);
      const agent = cluster.startAgent(1, { args: c.args ?? [], env: c.env ?? {} });
      assert.equal(await agent.waitForExit(), 2);
      const log = await agent.readLog();
      assert.match(log, c.says);
      assert.match(log, /^Usage of flanneld:$/m, 'prints the usage, as Go flag does');
      assert.deepEqual(await listSubnetKeys(kv), [], 'no lease key written');
    });
  }

  it('waits for a missing config key, saying so, and proceeds once it is written', async () => {
    await cluster.etcdctl(['del', NETWORK_CONFIG_KEY]);
    const agent = cluster.startAgent(1);
    const waiting = /network config key \/coreos\.com\/network\/config not found in etcd/;
    await agent.waitForLog(waiting);
    await agent.waitForLog(new RegExp(`${waiting.source}[^]*${waiting.source}`), { timeoutMs: 5000 });
    assert.equal(agent.running, true);
    await cluster.putConfig(GOOD);
    const env = await agent.waitForSubnetFile({ timeoutMs: 15_000 });
    assert.match(subnetOf(env.FLANNEL_SUBNET), /^10\.5\.\d+\.0\/24$/);
    assert.equal((await listSubnetKeys(kv)).length, 1);
  });
});
