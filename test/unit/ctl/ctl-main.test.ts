/** flannelctl's command line: common flags before or after the command, FLANNELD_* env, usage, exit codes, dispatch. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS, loadDoctor } from '../../../src/ctl/commands.js';
import { parseCtlOptions, splitArgv } from '../../../src/ctl/ctl-options.js';
import { CommandLoadError } from '../../../src/ctl/ctl-errors.js';
import { runCtl } from './ctl-run.js';

describe('flannelctl options', () => {
  it('takes common flags before the command (Go style) and anywhere after it', () => {
    const s = splitArgv(['-etcd-prefix=/a', 'leases', 'gc', '-o', 'json', '-older-than', '1h', '--etcd-endpoints', 'http://127.0.0.1:1', '--', '-o']);
    assert.equal(s.command, 'leases');
    assert.deepEqual(s.common, ['-etcd-prefix=/a', '-o', 'json', '--etcd-endpoints', 'http://127.0.0.1:1']);
    assert.deepEqual(s.rest, ['gc', '-older-than', '1h', '--', '-o']);
    const o = parseCtlOptions(s.common, {});
    assert.equal(o.output, 'json');
    assert.equal(o.etcd.prefix, '/a');
    assert.deepEqual(o.etcd.endpoints, ['http://127.0.0.1:1']);
  });

  it('reads FLANNELD_* as flanneld does; the command line wins', () => {
    const env = { FLANNELD_ETCD_PREFIX: '/env', FLANNELD_HEALTHZ_PORT: '9100', FLANNELD_KUBE_SUBNET_MGR: 'true', FLANNELD_O: 'json' };
    const o = parseCtlOptions(['-etcd-prefix', '/argv'], env);
    assert.equal(o.etcd.prefix, '/argv');
    assert.equal(o.healthzPort, 9100);
    assert.equal(o.kubeSubnetMgr, true);
    assert.equal(o.output, 'table', 'FLANNELD_O is not a flanneld variable');
  });

  it('names the flag or variable and the value when it is wrong', () => {
    assert.throws(() => parseCtlOptions(['-o', 'yaml'], {}), /invalid value "yaml" for flag -o: must be table or json/);
    assert.throws(() => parseCtlOptions([], { FLANNELD_HEALTHZ_PORT: '70000' }), /invalid value "70000" for FLANNELD_HEALTHZ_PORT/);
    assert.throws(() => parseCtlOptions(['-etcd-endpoints', 'http://a,,http://b'], {}), /-etcd-endpoints: empty endpoint/);
  });
});

describe('flannelctl main', () => {
  it('usage: -h and help exit 0 on stdout; nothing or an unknown command exit 2 on stderr', async () => {
    const h = await runCtl(['-h']);
    assert.equal(h.code, 0);
    assert.match(h.out, /^Usage: flannelctl \[flags\] <command>/);
    for (const cmd of ['config', 'leases', 'reserve', 'status', 'doctor', 'docker-opts']) assert.match(h.out, new RegExp(`^  ${cmd} `, 'm'));
    assert.match(h.out, /-etcd-endpoints string/);
    assert.equal((await runCtl(['help'])).code, 0);
    const none = await runCtl([]);
    assert.equal(none.code, 2);
    assert.match(none.err, /^Usage: flannelctl/);
    const bad = await runCtl(['lease']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown command "lease"/);
  });

  it('a bad common flag exits 2 naming it', async () => {
    const r = await runCtl(['leases', '-o', 'yaml']);
    assert.equal(r.code, 2);
    assert.match(r.err, /invalid value "yaml" for flag -o/);
    const u = await runCtl(['-nope', 'leases']);
    assert.equal(u.code, 2);
    assert.match(u.err, /flag provided but not defined: -nope/);
  });

  it('-version prints the version line', async () => {
    const r = await runCtl(['-version']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^\d+\.\d+\.\d+ \(/);
  });

  it('help <command> shows that command\'s usage', async () => {
    const r = await runCtl(['help', 'reserve']);
    assert.equal(r.code, 0);
    assert.match(r.out, /Usage: flannelctl reserve add <subnet>/);
    assert.match(r.out, /-public-ip string/);
  });

  it('a store that cannot be opened fails with exit 1 and the reason', async () => {
    const r = await runCtl(['leases']);
    assert.equal(r.code, 1);
    assert.match(r.err, /flannelctl leases: unexpected failure: .*no store in this test/);
  });

  it('doctor: a module that cannot be loaded is a clear CommandLoadError', async () => {
    const missing = './doctor/no-such-module.js';
    await assert.rejects(loadDoctor(missing, () => import(missing) as Promise<{ doctorCommand?: unknown }>), (e: unknown) => e instanceof CommandLoadError && /flannelctl doctor: cannot load the subcommand: \.\/doctor\/no-such-module\.js: /.test(e.message));
    await assert.rejects(loadDoctor('../errors.js', () => import('../../../src/errors.js') as Promise<{ doctorCommand?: unknown }>), /does not export doctorCommand/);
    assert.equal(typeof (await COMMANDS['doctor']?.load()), 'function', 'doctor is built and dispatched');
  });
});
