/**
 * The delegate run without node:child_process (spawn-sync.ts) answers exactly as the
 * child_process run does: result, the delegate's CNI error, a bad exit, a kill by signal, a
 * timeout, an executable that cannot run, a delegate that does not read its config, stderr
 * passed through. Both ways run the same small shell-script delegates.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDelegate, type DelegateRun } from '../../../src/cni/delegate-invoke.js';
import { loadSpawnSync } from '../../../src/cni/spawn-sync.js';
import { CniError } from '../../../src/errors.js';

const SCRIPTS: Record<string, string> = {
  ok: 'read -r line; echo "delegate says $CNI_COMMAND" >&2; printf \'{"got":%s}\\n\' "$line"',
  cnierr: 'cat >/dev/null; echo \'{"code":11,"msg":"busy","details":"try later"}\'; exit 1',
  badexit: 'cat >/dev/null; echo "plain failure" >&2; exit 3',
  killed: 'cat >/dev/null; kill -9 $$',
  slow: 'cat >/dev/null; exec sleep 5',
  noread: 'echo \'{"ok":true}\'',
};

type Outcome = { ok: true; stdout: string; stderr: string } | { ok: false; code: number; msg: string; details?: string; stderr: string };

describe('delegate run without child_process', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftc-dsync-'));
    for (const [name, body] of Object.entries(SCRIPTS)) {
      await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
      await chmod(join(dir, name), 0o755);
    }
    await writeFile(join(dir, 'notexec'), '#!/bin/sh\n');
    await chmod(join(dir, 'notexec'), 0o644);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function outcome(type: string, forceAsync: boolean, extra: Partial<DelegateRun> = {}): Promise<Outcome> {
    let stderr = '';
    const run: DelegateRun = {
      type,
      command: 'ADD',
      stdin: '{"cniVersion":"1.0.0"}' + '\n',
      env: { PATH: process.env.PATH },
      cniPath: [dir],
      signal: new AbortController().signal,
      stderr: (t) => (stderr += t),
      ...extra,
    };
    try {
      const out = await runDelegate(run, forceAsync);
      return { ok: true, stdout: out.stdout, stderr };
    } catch (err) {
      assert.ok(err instanceof CniError, String(err));
      return { ok: false, code: err.cniCode, msg: err.message, details: err.details, stderr };
    }
  }

  it('is available on this Node', () => {
    assert.equal(typeof loadSpawnSync(), 'function');
  });

  for (const type of ['ok', 'cnierr', 'badexit', 'killed', 'noread', 'notexec']) {
    it(`${type}: the same answer both ways`, async () => {
      const sync = await outcome(type, false);
      const async_ = await outcome(type, true);
      assert.deepEqual(sync, async_);
      if (type === 'ok') assert.deepEqual(sync, { ok: true, stdout: '{"got":{"cniVersion":"1.0.0"}}\n', stderr: 'delegate says ADD\n' });
      if (type === 'cnierr') assert.deepEqual(sync, { ok: false, code: 11, msg: 'delegate cnierr ADD: busy', details: 'try later', stderr: '' });
      if (type === 'killed') assert.match(sync.ok ? '' : sync.msg, /killed by SIGKILL/);
      if (type === 'notexec') assert.match(sync.ok ? '' : sync.msg, /cannot run .*notexec: EACCES/);
    });
  }

  it('a delegate that does not answer in time is killed, both ways', async () => {
    const t0 = Date.now();
    const sync = await outcome('slow', false, { timeoutMs: 300 });
    const async_ = await outcome('slow', true, { timeoutMs: 300 });
    assert.ok(Date.now() - t0 < 4000, 'killed before sleep 5 ended');
    assert.deepEqual(sync, async_);
    assert.match(sync.ok ? '' : sync.msg, /delegate slow ADD: killed: no answer within 300 ms/);
  });
});
