/**
 * The delegate runs without node:child_process (spawn-sync.ts) answer exactly as the
 * child_process run does, both of them: the spawn addon (posix_spawn) and Node's spawn_sync
 * binding. Result, the delegate's CNI error, a bad exit, a kill by signal, a timeout, an
 * executable that cannot run, a delegate that does not read its config (small and larger than a
 * pipe holds), a config larger than a pipe holds read back whole, stderr passed through, the
 * environment and argv[0], and the signal state a delegate starts with (nothing ignored or
 * blocked, as Node leaves its children). All ways run the same small shell-script delegates.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDelegate, type DelegateRun } from '../../../src/cni/delegate-invoke.js';
import { addonSpawnSync, bindingSpawnSync, loadSpawnSync, type SyncSpawn } from '../../../src/cni/spawn-sync.js';
import { CniError } from '../../../src/errors.js';

const SCRIPTS: Record<string, string> = {
  ok: 'read -r line; echo "delegate says $CNI_COMMAND" >&2; printf \'{"got":%s}\\n\' "$line"',
  cnierr: 'cat >/dev/null; echo \'{"code":11,"msg":"busy","details":"try later"}\'; exit 1',
  badexit: 'cat >/dev/null; echo "plain failure" >&2; exit 3',
  killed: 'cat >/dev/null; kill -9 $$',
  slow: 'cat >/dev/null; exec sleep 5',
  silentslow: 'cat >/dev/null; exec >&- 2>&-; exec sleep 5',
  noread: 'echo \'{"ok":true}\'',
  echo: 'exec cat',
  startstate: 'cat >/dev/null; printf \'{"argv0":"%s","env":"%s","ign":"%s","blk":"%s"}\\n\' "$0" "$CNI_COMMAND/$FTC_MARK" "$(grep SigIgn /proc/$$/status | cut -f2)" "$(grep SigBlk /proc/$$/status | cut -f2)"',
  chatty: 'cat >/dev/null; head -c 5000 /dev/zero | tr "\\0" x; exec sleep 5',
};

type Outcome = { ok: true; stdout: string; stderr: string } | { ok: false; code: number; msg: string; details?: string; stderr: string };

const addon = addonSpawnSync();
const binding = bindingSpawnSync();

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

  async function outcome(type: string, way: SyncSpawn | 'async', extra: Partial<DelegateRun> = {}): Promise<Outcome> {
    let stderr = '';
    const run: DelegateRun = {
      type,
      command: 'ADD',
      stdin: '{"cniVersion":"1.0.0"}' + '\n',
      env: { PATH: process.env.PATH, FTC_MARK: 'm1' },
      cniPath: [dir],
      signal: new AbortController().signal,
      stderr: (t) => (stderr += t),
      ...extra,
    };
    try {
      const out = await runDelegate(run, way);
      return { ok: true, stdout: out.stdout, stderr };
    } catch (err) {
      assert.ok(err instanceof CniError, String(err));
      return { ok: false, code: err.cniCode, msg: err.message, details: err.details, stderr };
    }
  }

  /** The outcome the three ways agree on. */
  async function agreed(type: string, extra: Partial<DelegateRun> = {}): Promise<Outcome> {
    assert.ok(addon && binding);
    const viaAsync = await outcome(type, 'async', extra);
    assert.deepEqual(await outcome(type, addon, extra), viaAsync, 'spawn addon = child_process');
    assert.deepEqual(await outcome(type, binding, extra), viaAsync, 'spawn_sync binding = child_process');
    return viaAsync;
  }

  it('both synchronous ways are there, the addon first (npm run build makes it)', () => {
    assert.equal(typeof addon, 'function');
    assert.equal(typeof binding, 'function');
    assert.equal(loadSpawnSync()?.toString(), addon?.toString());
  });

  for (const type of ['ok', 'cnierr', 'badexit', 'killed', 'noread', 'notexec', 'startstate']) {
    it(`${type}: the same answer every way`, async () => {
      const got = await agreed(type);
      if (type === 'ok') assert.deepEqual(got, { ok: true, stdout: '{"got":{"cniVersion":"1.0.0"}}\n', stderr: 'delegate says ADD\n' });
      if (type === 'cnierr') assert.deepEqual(got, { ok: false, code: 11, msg: 'delegate cnierr ADD: busy', details: 'try later', stderr: '' });
      if (type === 'killed') assert.match(got.ok ? '' : got.msg, /killed by SIGKILL/);
      if (type === 'notexec') assert.match(got.ok ? '' : got.msg, /cannot run .*notexec: EACCES/);
      if (type === 'startstate') {
        assert.ok(got.ok);
        assert.deepEqual(JSON.parse(got.stdout), { argv0: join(dir, 'startstate'), env: 'ADD/m1', ign: '0000000000000000', blk: '0000000000000000' });
      }
    });
  }

  it('a config larger than a pipe holds reaches the delegate whole, every way', async () => {
    const stdin = JSON.stringify({ cniVersion: '1.0.0', pad: 'p'.repeat(300_000) });
    const got = await agreed('echo', { stdin });
    assert.ok(got.ok);
    assert.equal(got.stdout, stdin);
  });

  it('a delegate that reads none of a large config still answers, every way', async () => {
    const got = await agreed('noread', { stdin: 'x'.repeat(300_000) });
    assert.deepEqual(got, { ok: true, stdout: '{"ok":true}\n', stderr: '' });
  });

  for (const type of ['slow', 'silentslow']) {
    it(`a delegate that does not answer in time is killed, every way (${type === 'slow' ? 'its output open' : 'its output closed'})`, async () => {
      const t0 = Date.now();
      const got = await agreed(type, { timeoutMs: 300 });
      assert.ok(Date.now() - t0 < 4500, 'killed before sleep 5 ended');
      assert.match(got.ok ? '' : got.msg, new RegExp(`delegate ${type} ADD: killed: no answer within 300 ms`));
    });
  }

  it('the addon and the binding stop a child that says too much the same way (ENOBUFS)', () => {
    assert.ok(addon && binding);
    const opts = { file: join(dir, 'chatty'), env: { PATH: process.env.PATH }, input: '', timeoutMs: 10_000, maxBuffer: 1000 };
    const a = addon(opts);
    const b = binding(opts);
    // It goes on (sleep 5) after its output: the kill is what ends it, every time.
    for (const r of [a, b]) {
      assert.equal(r.error, 'ENOBUFS');
      assert.equal(r.signal, 'SIGKILL');
      assert.equal(r.status, null);
    }
  });

  it('the addon answers ENOENT for a file that is not there, as the binding does', () => {
    assert.ok(addon && binding);
    const opts = { file: join(dir, 'missing'), env: {}, input: '{}', timeoutMs: 10_000, maxBuffer: 1000 };
    assert.equal(addon(opts).error, 'ENOENT');
    assert.equal(binding(opts).error, 'ENOENT');
  });
});
