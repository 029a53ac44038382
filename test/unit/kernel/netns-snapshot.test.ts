import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelError, ToolError } from '../../../src/errors.js';
import type { ToolRunner } from '../../../src/kernel/exec-tool.js';
import { PROBE_SCRIPT, readNetnsSnapshot } from '../../../src/kernel/netns-snapshot.js';

const SNAP = { links: [{ index: 1, name: 'lo', up: true, mtu: 65536 }], addresses: [], routes: [] };

describe('readNetnsSnapshot', () => {
  it('runs the probe under nsenter in the namespace and parses its output', async () => {
    let argv: readonly string[] = [];
    const runTool: ToolRunner = async (a) => {
      argv = a;
      return { stdout: JSON.stringify(SNAP), stderr: '' };
    };
    assert.deepEqual(await readNetnsSnapshot('/run/netns/pod', { runTool }), SNAP);
    assert.deepEqual(argv, ['nsenter', '--net=/run/netns/pod', '--', process.execPath, PROBE_SCRIPT]);
    assert.match(PROBE_SCRIPT, /dist\/src\/kernel\/netns-probe\.js$/);
  });

  it('a namespace that cannot be entered is a KernelError (ERR_NETNS) carrying what nsenter said', async () => {
    const runTool: ToolRunner = async (a) => {
      throw new ToolError(a, { exitCode: 1, stderr: "nsenter: cannot open /run/netns/gone: No such file or directory" });
    };
    await assert.rejects(readNetnsSnapshot('/run/netns/gone', { runTool }), (e: unknown) => e instanceof KernelError && e.code === 'ERR_NETNS' && /No such file/.test(e.message));
  });

  it('output that is not a snapshot is a KernelError (ERR_NETNS)', async () => {
    for (const stdout of ['', 'garbage', '{"links": []}']) {
      const runTool: ToolRunner = async () => ({ stdout, stderr: '' });
      await assert.rejects(readNetnsSnapshot('/run/netns/x', { runTool }), (e: unknown) => e instanceof KernelError && e.code === 'ERR_NETNS', stdout);
    }
  });
});
