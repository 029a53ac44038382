import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IPNetwork } from '../../../src/ip/ip-network.js';
import { parseEnvText, readPreviousSubnets, renderSubnetEnv, writeSubnetEnv, type SubnetEnv } from '../../../src/subnet/subnet-env.js';

const net = (s: string) => IPNetwork.parse(s);

const V4: SubnetEnv = { network: net('10.244.0.0/16'), subnet: net('10.244.23.0/24'), mtu: 1450, ipMasq: true };
const V4_TEXT = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.23.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

describe('renderSubnetEnv (flannel WriteSubnetFile)', () => {
  it('IPv4', () => {
    assert.equal(renderSubnetEnv(V4), V4_TEXT);
  });
  it('IPv6 only', () => {
    const text = renderSubnetEnv({ ipv6Network: net('fc00::/48'), ipv6Subnet: net('fc00:0:0:3::/64'), mtu: 1430, ipMasq: false });
    assert.equal(text, 'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:3::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n');
  });
  it('dual stack: IPv4 lines first', () => {
    const text = renderSubnetEnv({ ...V4, ipv6Network: net('fc00::/48'), ipv6Subnet: net('fc00:0:0:17::/64') });
    assert.equal(
      text,
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.23.1/24\n' +
        'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:17::1/64\n' +
        'FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
  });
  it('small subnets: first host of a /30', () => {
    assert.ok(renderSubnetEnv({ ...V4, network: net('10.0.0.0/28'), subnet: net('10.0.0.4/30') }).includes('FLANNEL_SUBNET=10.0.0.5/30\n'));
  });
  it('parseEnvText reads it back', () => {
    const vars = parseEnvText(`# comment\n\n${V4_TEXT.replace('\n', '\r\n')}  JUNK\n=x\n`);
    assert.equal(vars.get('FLANNEL_NETWORK'), '10.244.0.0/16');
    assert.equal(vars.get('FLANNEL_SUBNET'), '10.244.23.1/24');
    assert.equal(vars.get('FLANNEL_IPMASQ'), 'true');
    assert.equal(vars.size, 4);
  });
});

describe('writeSubnetEnv and readPreviousSubnets', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flannel-ts-subnet-env-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates missing directories and writes the exact text with mode 0644', async () => {
    const path = join(dir, 'run', 'flannel', 'subnet.env');
    await writeSubnetEnv(path, V4);
    assert.equal(await readFile(path, 'utf8'), V4_TEXT);
    assert.equal((await stat(path)).mode & 0o777 & ~0o022, 0o644 & ~0o022);
    assert.deepEqual(await readdir(join(dir, 'run', 'flannel')), ['subnet.env']);
  });

  it('replaces atomically: a reader only ever sees a whole old or new file; no temp file is left', async () => {
    const sub = join(dir, 'atomic');
    const path = join(sub, 'subnet.env');
    const other: SubnetEnv = { ...V4, subnet: net('10.244.200.0/24'), mtu: 8950, ipMasq: false };
    const texts = new Set([renderSubnetEnv(V4), renderSubnetEnv(other)]);
    await writeSubnetEnv(path, V4);
    let done = false;
    let reads = 0;
    const reader = (async () => {
      for (let i = 0; i < 100_000 && !done; i++) {
        const text = await readFile(path, 'utf8');
        reads++;
        assert.ok(texts.has(text), `partial or foreign content seen: ${JSON.stringify(text)}`);
      }
    })();
    for (let i = 0; i < 200; i++) await writeSubnetEnv(path, i % 2 ? V4 : other);
    done = true;
    await reader;
    assert.ok(reads > 0);
    assert.deepEqual(await readdir(sub), ['subnet.env']);
  });

  it('concurrent writers leave one complete file and no temp files', async () => {
    const sub = join(dir, 'concurrent');
    const path = join(sub, 'subnet.env');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeSubnetEnv(path, { ...V4, mtu: 1400 + i })));
    assert.match(await readFile(path, 'utf8'), /^FLANNEL_NETWORK=10\.244\.0\.0\/16\nFLANNEL_SUBNET=10\.244\.23\.1\/24\nFLANNEL_MTU=14\d\d\nFLANNEL_IPMASQ=true\n$/);
    assert.deepEqual(await readdir(sub), ['subnet.env']);
  });

  it('a failed rename removes the temp file', async () => {
    const sub = join(dir, 'blocked');
    const path = join(sub, 'subnet.env');
    await mkdir(join(path, 'occupied'), { recursive: true });
    await assert.rejects(writeSubnetEnv(path, V4), (err: NodeJS.ErrnoException) => typeof err.code === 'string');
    assert.deepEqual(await readdir(sub), ['subnet.env']);
  });

  it('readPreviousSubnets: subnets of a written file, masked to the network address', async () => {
    const path = join(dir, 'prev', 'subnet.env');
    await writeSubnetEnv(path, { ...V4, ipv6Network: net('fc00::/48'), ipv6Subnet: net('fc00:0:0:17::/64') });
    const prev = await readPreviousSubnets(path);
    assert.equal(prev.subnet?.toString(), '10.244.23.0/24');
    assert.equal(prev.ipv6Subnet?.toString(), 'fc00:0:0:17::/64');
  });

  it('readPreviousSubnets: missing file, directory, empty and garbage give nothing', async () => {
    assert.deepEqual(await readPreviousSubnets(join(dir, 'nope', 'subnet.env')), {});
    assert.deepEqual(await readPreviousSubnets(dir), {});
    const empty = join(dir, 'empty.env');
    await writeFile(empty, '');
    assert.deepEqual(await readPreviousSubnets(empty), {});
    const garbage = join(dir, 'garbage.env');
    await writeFile(garbage, Buffer.from([0, 1, 2, 255, 254, 10, 61, 61, 10]));
    assert.deepEqual(await readPreviousSubnets(garbage), {});
    const bad = join(dir, 'bad.env');
    await writeFile(bad, 'FLANNEL_SUBNET=10.244.23.1\nFLANNEL_IPV6_SUBNET=fc00::1::/64\n');
    assert.deepEqual(await readPreviousSubnets(bad), {});
  });

  it('readPreviousSubnets: one good family is kept when the other is garbage', async () => {
    const half = join(dir, 'half.env');
    await writeFile(half, 'FLANNEL_SUBNET=banana\nFLANNEL_IPV6_SUBNET=fc00:0:0:9::1/64\n');
    const prev = await readPreviousSubnets(half);
    assert.equal(prev.subnet, undefined);
    assert.equal(prev.ipv6Subnet?.toString(), 'fc00:0:0:9::/64');
  });
});
