/**
 * The plugin's protocol end to end in-process, with fake delegates (no root): the verb table,
 * the error documents and codes, the state in dataDir, DEL's replay, GC.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { cniMain } from '../../../src/cni/cni-main.js';
import { FakePlugins } from './fake-plugins.js';

const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.23.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  doc: Record<string, unknown> | undefined;
}

describe('cniMain', () => {
  let root: string;
  let dir: string;
  let fakes: FakePlugins;
  let n = 0;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ftc-unit-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dir = join(root, `t${++n}`);
    fakes = await FakePlugins.create(join(dir, 'bin'), ['bridge', 'host-local', 'ipvlan']);
    await writeFile(join(dir, 'subnet.env'), SUBNET_ENV);
  });

  const conf = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', subnetFile: join(dir, 'subnet.env'), dataDir: join(dir, 'data'), ...extra });

  async function run(command: string, stdin: string, env: Record<string, string> = {}): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const code = await cniMain(
      { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: join(dir, 'bin'), ...env },
      { readStdin: async () => Buffer.from(stdin), stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
    );
    let doc: Record<string, unknown> | undefined;
    try {
      doc = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
    } catch {
      doc = undefined;
    }
    return { code, stdout, stderr, doc };
  }

  function assertError(r: Run, code: number, msg?: RegExp): void {
    assert.equal(r.code, 1, `exit status; stdout ${r.stdout}`);
    assert.equal(r.doc?.code, code, `error code; stdout ${r.stdout}`);
    assert.equal(typeof r.doc?.msg, 'string');
    assert.ok(typeof r.doc?.cniVersion === 'string');
    if (msg) assert.match(String(r.doc?.msg), msg);
  }

  it('VERSION lists the spec versions', async () => {
    const r = await run('VERSION', '');
    assert.equal(r.code, 0);
    assert.deepEqual(r.doc, { cniVersion: '1.1.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('ADD saves the delegate config, runs the delegate with it and prints its result', async () => {
    const r = await run('ADD', conf());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.doc, { cniVersion: '1.0.0', ips: [{ address: '10.244.23.2/24' }] });
    const saved = await readFile(join(dir, 'data', 'c1'), 'utf8');
    const calls = await fakes.calls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.name, 'bridge');
    assert.equal(calls[0]?.command, 'ADD');
    assert.equal(calls[0]?.stdin, saved);
    assert.equal(calls[0]?.env.CNI_CONTAINERID, 'c1');
    assert.equal(calls[0]?.env.CNI_NETNS, '/run/netns/x');
    assert.equal(JSON.parse(saved).ipam.ranges[0][0].subnet, '10.244.23.0/24');
    assert.match(r.stderr, /ADD c1 eth0: .* delegate bridge/);
    assert.deepEqual((await readdir(join(dir, 'data'))).sort(), ['c1'], 'no temp files left');
  });

  it('DEL replays the saved config to the delegate, then removes it', async () => {
    assert.equal((await run('ADD', conf({ delegate: { type: 'ipvlan' } }))).code, 0);
    const saved = await readFile(join(dir, 'data', 'c1'), 'utf8');
    const r = await run('DEL', conf(), { CNI_NETNS: '' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stdout, '');
    const del = (await fakes.calls()).at(-1);
    assert.equal(del?.name, 'ipvlan');
    assert.equal(del?.command, 'DEL');
    assert.equal(del?.stdin, saved);
    assert.equal(existsSync(join(dir, 'data', 'c1')), false);
  });

  it('DEL with nothing saved succeeds without running anything', async () => {
    const r = await run('DEL', conf(), { CNI_PATH: '' });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(await fakes.calls(), []);
  });

  it("a delegate's failure keeps its CNI code; DEL then keeps the state", async () => {
    await fakes.answer('bridge', 'ADD', '{"code":11,"msg":"busy","details":"try later"}', 1);
    const r = await run('ADD', conf());
    assertError(r, 11, /^delegate bridge ADD: busy$/);
    assert.equal(r.doc?.details, 'try later');
    await fakes.answer('bridge', 'DEL', 'garbage', 2);
    assertError(await run('DEL', conf()), 100, /exit status 2: garbage/);
    assert.equal(existsSync(join(dir, 'data', 'c1')), true);
  });

  it('a delegate printing no result document fails ADD (100)', async () => {
    await fakes.answer('bridge', 'ADD', 'not json', 0);
    assertError(await run('ADD', conf()), 100);
  });

  it('a missing delegate binary is an error (7) and saves nothing', async () => {
    const r = await run('ADD', conf({ delegate: { type: 'macvlan' } }));
    assertError(r, 7, /failed to find plugin "macvlan"/);
    assert.equal(existsSync(join(dir, 'data', 'c1')), false);
  });

  it('a delegate type that is a path is refused (7)', async () => {
    assertError(await run('ADD', conf({ delegate: { type: '../bin/bridge' } })), 7);
  });

  it('malformed config JSON is a decoding failure (6)', async () => {
    assertError(await run('ADD', '{"name": '), 6, /failed to decode network config/);
    assertError(await run('DEL', '[1,2]'), 6);
  });

  it('wrongly typed fields are invalid config (7)', async () => {
    assertError(await run('ADD', conf({ subnetFile: 3 })), 7, /subnetFile=3/);
    assertError(await run('ADD', conf({ ipam: 'host-local' })), 7, /ipam/);
    assertError(await run('ADD', conf({ delegate: { name: 'x' } })), 7);
  });

  it('subnet.env missing (11), unreadable (5) or incomplete (6)', async () => {
    assertError(await run('ADD', conf({ subnetFile: join(dir, 'nope.env') })), 11);
    assertError(await run('ADD', conf({ subnetFile: dir })), 5);
    await writeFile(join(dir, 'partial.env'), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.23.1/24\n');
    assertError(await run('ADD', conf({ subnetFile: join(dir, 'partial.env') })), 6, /missing FLANNEL_MTU, FLANNEL_IPMASQ/);
    assert.equal(existsSync(join(dir, 'data')), false);
  });

  it('an unsupported cniVersion is error 1; CHECK needs 0.4.0, STATUS and GC 1.1.0', async () => {
    assertError(await run('ADD', conf({ cniVersion: '2.0.0' })), 1);
    assertError(await run('CHECK', conf({ cniVersion: '0.3.1' })), 1, /does not allow CHECK/);
    assertError(await run('STATUS', conf({ cniVersion: '1.0.0' })), 1, /does not allow STATUS/);
    assertError(await run('GC', conf({ cniVersion: '1.0.0' })), 1);
  });

  it('a config without cniVersion is 0.1.0: ADD works, nothing passed on as cniVersion', async () => {
    const r = await run('ADD', JSON.stringify({ name: 'cbr0', subnetFile: join(dir, 'subnet.env'), dataDir: join(dir, 'data') }));
    assert.equal(r.code, 0, r.stdout);
    assert.equal('cniVersion' in JSON.parse(await readFile(join(dir, 'data', 'c1'), 'utf8')), false);
  });

  it('missing or invalid CNI_* variables are error 4', async () => {
    assertError(await run('', conf()), 4, /CNI_COMMAND/);
    assertError(await run('FROB', conf()), 4, /unknown command/);
    assertError(await run('ADD', conf(), { CNI_NETNS: '' }), 4, /CNI_NETNS/);
    assertError(await run('ADD', conf(), { CNI_IFNAME: 'a/b' }), 4, /CNI_IFNAME/);
    assertError(await run('ADD', conf(), { CNI_IFNAME: 'x'.repeat(16) }), 4);
    assertError(await run('ADD', conf(), { CNI_PATH: '' }), 4, /CNI_PATH/);
  });

  for (const id of ['../escape', '/etc/passwd', '..', '.hidden', 'a/../../b', '', 'x'.repeat(256)]) {
    it(`container ID ${JSON.stringify(id.slice(0, 20))} is refused (4), nothing written outside dataDir`, async () => {
      const before = await readdir(dir);
      const r = await run('ADD', conf(), { CNI_CONTAINERID: id });
      assertError(r, 4);
      assert.deepEqual(await readdir(dir), before);
      assert.equal(existsSync(join(dir, 'data')), false);
      assertError(await run('DEL', conf(), { CNI_CONTAINERID: id }), 4);
      assert.deepEqual(await fakes.calls(), []);
    });
  }

  it('CHECK without prevResult is invalid config (7); for an unknown container, error 3', async () => {
    assertError(await run('CHECK', conf()), 7, /prevResult/);
    assertError(await run('CHECK', conf({ prevResult: { cniVersion: '1.0.0', ips: [] } })), 3);
  });

  it('STATUS is fine when subnet.env and the delegates are there, else error 50', async () => {
    assert.equal((await run('STATUS', conf({ cniVersion: '1.1.0' }), { CNI_CONTAINERID: '', CNI_IFNAME: '' })).code, 0);
    assertError(await run('STATUS', conf({ cniVersion: '1.1.0', subnetFile: join(dir, 'nope') })), 50);
    assertError(await run('STATUS', conf({ cniVersion: '1.1.0', ipam: { type: 'dhcp' } })), 50, /dhcp/);
  });

  it('GC releases the saved state of containers not among the valid attachments', async () => {
    for (const id of ['keep1', 'gone1', 'gone2']) assert.equal((await run('ADD', conf(), { CNI_CONTAINERID: id })).code, 0);
    const gc = conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep1', ifname: 'eth0' }] });
    const r = await run('GC', gc, { CNI_CONTAINERID: '', CNI_IFNAME: '', CNI_NETNS: '' });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(await readdir(join(dir, 'data')), ['keep1']);
    const dels = (await fakes.calls()).filter((c) => c.command === 'DEL');
    assert.deepEqual(dels.map((c) => [c.env.CNI_CONTAINERID, c.env.CNI_IFNAME]), [['gone1', 'eth0'], ['gone2', 'eth0']]);
    assertError(await run('GC', conf({ cniVersion: '1.1.0' })), 7, /valid-attachments/);
  });
});
