import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCniEnv, parseCommand } from '../../../src/cni/cni-env.js';
import { parseCniResult } from '../../../src/cni/cni-result.js';
import { VERBS } from '../../../src/cni/cni-spec.js';
import { parseNetConf } from '../../../src/cni/net-conf.js';
import { parseSubnetFacts } from '../../../src/cni/subnet-facts.js';
import { CniError } from '../../../src/errors.js';
import { IPAddress } from '../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { parseEnvText, readPreviousSubnets, renderSubnetEnv, type SubnetEnv } from '../../../src/subnet/subnet-env.js';
import { HOSTILE_KEYS, anyJson, check, deepJsonText, expectTypedOrValue, mutatedText, withFieldReplaced } from './fuzz-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'flannel-fuzz-subnet-env-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A network and a subnet inside it, of a size flannel hands out (at most /30, /126). */
function familyEnv(family: 4 | 6) {
  const bits = family === 4 ? 32 : 128;
  return fc.tuple(family === 4 ? fc.ipV4() : fc.ipV6(), fc.integer({ min: 0, max: bits - 4 }), fc.integer({ min: 2, max: 30 })).map(([ip, len, more]) => {
    const network = IPNetwork.of(IPAddress.parse(ip), len);
    const subnet = IPNetwork.of(IPAddress.parse(ip), Math.min(bits - 2, len + more));
    return { network, subnet };
  });
}

const subnetEnv: fc.Arbitrary<SubnetEnv> = fc
  .record({ v4: fc.option(familyEnv(4), { nil: undefined }), v6: fc.option(familyEnv(6), { nil: undefined }), mtu: fc.integer({ min: 0, max: 0xffffffff }), ipMasq: fc.boolean() })
  .filter((r) => r.v4 !== undefined || r.v6 !== undefined)
  .map((r) => ({ network: r.v4?.network, subnet: r.v4?.subnet, ipv6Network: r.v6?.network, ipv6Subnet: r.v6?.subnet, mtu: r.mtu, ipMasq: r.ipMasq }));

const netConf = fc.record(
  {
    cniVersion: fc.constantFrom('0.3.1', '0.4.0', '1.0.0', '1.1.0'),
    name: fc.string(),
    type: fc.constant('flannel'),
    subnetFile: fc.string({ minLength: 1 }),
    dataDir: fc.string({ minLength: 1 }),
    delegate: fc.dictionary(fc.string(), anyJson, { maxKeys: 3 }),
    ipam: fc.dictionary(fc.string(), anyJson, { maxKeys: 3 }),
  },
  { requiredKeys: ['type'] },
);

const NETCONF_FIELDS = ['cniVersion', 'name', 'subnetFile', 'dataDir', 'delegate', 'ipam', 'runtimeConfig', 'prevResult', 'cni.dev/valid-attachments', 'cni.dev/attachments'];

describe('fuzz: subnet.env (written by flanneld, read by flanneld and the CNI plugin)', () => {
  it('render → parse gives the same facts (flanneld restart hint and CNI plugin)', async () => {
    check(
      fc.property(subnetEnv, (env) => {
        const text = renderSubnetEnv(env);
        const vars = parseEnvText(text);
        const facts = parseSubnetFacts(text, '/run/flannel/subnet.env');
        assert.deepEqual(facts.networks.map(String), env.network ? [env.network.toString()] : []);
        assert.deepEqual(facts.ipv6Networks.map(String), env.ipv6Network ? [env.ipv6Network.toString()] : []);
        assert.equal(facts.subnet?.toString(), env.subnet?.toString());
        assert.equal(facts.ipv6Subnet?.toString(), env.ipv6Subnet?.toString());
        assert.equal(facts.mtu, env.mtu);
        assert.equal(facts.ipMasq, env.ipMasq);
        assert.equal(vars.get('FLANNEL_IPMASQ'), String(env.ipMasq));
      }),
    );
    await check(
      fc.asyncProperty(subnetEnv, fc.nat(), async (env, n) => {
        const path = join(dir, `subnet-${n}.env`);
        writeFileSync(path, renderSubnetEnv(env));
        const prev = await readPreviousSubnets(path);
        assert.equal(prev.subnet?.toString(), env.subnet?.toString());
        assert.equal(prev.ipv6Subnet?.toString(), env.ipv6Subnet?.toString());
      }),
      0.2,
    );
  });

  it('any text: facts, or a CniError naming the variable; the restart hint never throws', async () => {
    const texts = fc.oneof(mutatedText(subnetEnv.map(renderSubnetEnv)), fc.string({ unit: 'binary' }), fc.array(fc.tuple(fc.constantFrom('FLANNEL_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_IPV6_NETWORK', 'FLANNEL_IPV6_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ', '__proto__'), fc.string()), { maxLength: 8 }).map((kv) => kv.map(([k, v]) => `${k}=${v}`).join('\n')));
    check(
      fc.property(texts, (text) => {
        const r = expectTypedOrValue(() => parseSubnetFacts(text, '/x/subnet.env'), { typed: CniError });
        if (r instanceof CniError) assert.match(r.message, /subnet file \/x\/subnet\.env/);
        assert.ok(parseEnvText(text) instanceof Map);
      }),
    );
    await check(
      fc.asyncProperty(texts, async (text) => {
        const path = join(dir, 'hint.env');
        writeFileSync(path, text);
        const prev = await readPreviousSubnets(path);
        assert.ok(prev.subnet === undefined || prev.subnet instanceof IPNetwork);
      }),
      0.2,
    );
  });
});

describe('fuzz: CNI stdin and CNI_* environment', () => {
  it('network config on stdin: a config, or a CniError (6 not JSON, 7 a bad field naming it, 1 a bad version)', () => {
    const docs = fc.oneof(netConf.map((c) => JSON.stringify(c)), withFieldReplaced(netConf, NETCONF_FIELDS).map((c) => JSON.stringify(c)));
    check(
      fc.property(fc.oneof(mutatedText(docs), docs, fc.string({ unit: 'binary' }), deepJsonText), fc.boolean(), (text, asBuffer) => {
        const r = expectTypedOrValue(() => parseNetConf(asBuffer ? Buffer.from(text, 'latin1') : text), { typed: CniError });
        if (r instanceof CniError) {
          assert.ok([1, 6, 7].includes(r.cniCode), `code ${r.cniCode}: ${r.message}`);
          if (r.cniCode === 7) assert.ok(NETCONF_FIELDS.some((f) => r.message.includes(`${f}`)), r.message);
        } else if (!(r instanceof Error)) assert.equal(typeof r.subnetFile, 'string');
      }),
    );
  });

  it('a valid config parses to its own fields', () => {
    check(
      fc.property(netConf, (c) => {
        const r = parseNetConf(JSON.stringify(c));
        assert.equal(r.name, c.name ?? '');
        assert.equal(r.subnetFile, c.subnetFile ?? '/run/flannel/subnet.env');
        assert.equal(r.dataDir, c.dataDir ?? '/var/lib/cni/flannel');
        assert.deepEqual(r.delegate, c.delegate === undefined ? undefined : JSON.parse(JSON.stringify(c.delegate)));
      }),
    );
  });

  it('CNI_* environment: an environment, or CniError 4 naming the variable', () => {
    const value = fc.oneof(fc.string(), fc.constantFrom('', 'abc123', '../etc', '.hidden', 'eth0', 'a'.repeat(300), '/var/run/netns/x', 'x:y::z'));
    const env = fc.record({ CNI_COMMAND: fc.oneof(fc.constantFrom(...VERBS), fc.string()), CNI_CONTAINERID: value, CNI_NETNS: value, CNI_IFNAME: value, CNI_PATH: value, CNI_ARGS: value }, { requiredKeys: [] });
    check(
      fc.property(env, fc.constantFrom(...HOSTILE_KEYS), (e, hostile) => {
        const full: NodeJS.ProcessEnv = { ...e, [hostile]: 'x' };
        const cmd = expectTypedOrValue(() => parseCommand(full), { typed: CniError, field: () => 'CNI_COMMAND' });
        if (cmd instanceof Error) return assert.equal((cmd as CniError).cniCode, 4);
        const r = expectTypedOrValue(() => parseCniEnv(full, cmd), { typed: CniError, field: () => 'CNI_' });
        if (r instanceof CniError) assert.equal(r.cniCode, 4);
        else if (!(r instanceof Error)) {
          if (['ADD', 'DEL', 'CHECK'].includes(cmd)) assert.ok(!r.containerId.includes('/') && !r.containerId.startsWith('.'), r.containerId);
          for (const p of r.path) assert.notEqual(p, '');
        }
      }),
    );
  });

  it('a delegate result (prevResult): parsed, or a CniError naming the field', () => {
    const result = fc.record(
      {
        cniVersion: fc.constant('1.0.0'),
        interfaces: fc.array(fc.record({ name: fc.string(), mac: fc.string(), sandbox: fc.string() }, { requiredKeys: ['name'] }), { maxLength: 3 }),
        ips: fc.array(fc.record({ address: fc.oneof(fc.ipV4().map((i) => `${i}/24`), fc.string()), gateway: fc.oneof(fc.ipV4(), fc.string()), interface: fc.nat({ max: 3 }) }, { requiredKeys: ['address'] }), { maxLength: 3 }),
        routes: fc.array(fc.record({ dst: fc.oneof(fc.constant('0.0.0.0/0'), fc.string()), gw: fc.ipV4() }, { requiredKeys: ['dst'] }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    check(
      fc.property(fc.oneof(result, withFieldReplaced(result, ['interfaces', 'ips', 'routes']), fc.dictionary(fc.string(), anyJson)), (doc) => {
        const r = expectTypedOrValue(() => parseCniResult(JSON.parse(JSON.stringify(doc)) as Record<string, unknown>), { typed: CniError });
        if (r instanceof CniError) assert.match(r.message, /failed to decode prevResult: \S+=/);
      }),
    );
  });
});
