import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCniEnv } from '../../../src/cni/cni-env.js';
import { statePath } from '../../../src/cni/state-store.js';
import { CniError } from '../../../src/errors.js';

const isCode = (code: number) => (e: unknown) => e instanceof CniError && e.cniCode === code;

describe('CNI environment', () => {
  it('DEL needs neither CNI_NETNS nor CNI_PATH; VERSION needs nothing', () => {
    const e = parseCniEnv({ CNI_CONTAINERID: 'abc', CNI_IFNAME: 'eth0' }, 'DEL');
    assert.equal(e.netns, '');
    assert.deepEqual(e.path, []);
    assert.equal(parseCniEnv({}, 'VERSION').command, 'VERSION');
  });

  it('splits CNI_PATH and drops empty entries', () => {
    const e = parseCniEnv({ CNI_CONTAINERID: 'abc', CNI_IFNAME: 'eth0', CNI_NETNS: '/x', CNI_PATH: '/opt/cni/bin::/usr/lib/cni:' }, 'ADD');
    assert.deepEqual(e.path, ['/opt/cni/bin', '/usr/lib/cni']);
  });

  it('accepts the container IDs runtimes use', () => {
    for (const id of ['3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755', 'pod_1.a-b', 'a..b']) {
      assert.equal(parseCniEnv({ CNI_CONTAINERID: id, CNI_IFNAME: 'eth0' }, 'DEL').containerId, id);
    }
  });
});

describe('statePath', () => {
  it('keeps every state file a plain name inside dataDir', () => {
    assert.equal(statePath('/var/lib/cni/flannel/', 'abc'), '/var/lib/cni/flannel/abc');
    assert.equal(statePath('data', 'a..b').endsWith('/data/a..b'), true);
    for (const id of ['..', '../x', 'x/y', '/abs', '.x', '', 'a\0b']) assert.throws(() => statePath('/d', id), isCode(4), id);
  });
});
