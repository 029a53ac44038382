/**
 * The pages addon (native/pages) against the real kernel: a Node.js process started from its own
 * copy of the node executable (so no other process maps those pages) gives back most of its
 * resident file pages, keeps working, and reads back what it touches again.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ADDON = fileURLToPath(new URL('../../native/pages.node', import.meta.url));
const skip = process.platform !== 'linux' ? 'Linux only' : existsSync(ADDON) ? false : `the pages addon is not built (${ADDON}): make -C native`;

/** Run by the copied node: file-backed resident KiB before and after, and what the addon said. */
const CHILD = `
const { readFileSync } = require('node:fs');
const fileKiB = () => {
  const t = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kib = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(t)[1]);
  return kib('Rss') - kib('Anonymous');
};
require('node:zlib'); require('node:http'); require('node:crypto').createHash('sha256').update('x').digest('hex');
const before = fileKiB();
const addon = require(process.argv[1]);
const result = addon.releaseColdPages();
const after = fileKiB();
// Used again after the release: the code comes back from the file.
const again = require('node:zlib').gunzipSync(require('node:zlib').gzipSync('still works')).toString();
const second = addon.releaseColdPages();
process.stdout.write(JSON.stringify({ before, after, result, again, second }));
`;

describe('pages addon: releasing cold file pages', { skip }, () => {
  it('gives back most resident file pages of an unshared executable, and the process keeps working', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'flannel-ts-pages-'));
    try {
      const node = join(dir, 'node');
      await copyFile(process.execPath, node);
      const env = { ...process.env, NODE_OPTIONS: '' };
      const { stdout } = await run(node, ['-e', CHILD, ADDON], { env, timeout: 30_000 });
      const out = JSON.parse(stdout) as { before: number; after: number; result: { advisedBytes: number; mappings: number; failed: number; error?: string }; again: string; second: { mappings: number } };
      if (out.result.mappings === 0 && out.result.error === 'EINVAL') {
        t.skip('this kernel has no MADV_PAGEOUT (before 5.4)');
        return;
      }
      t.diagnostic(`file-backed resident ${out.before} -> ${out.after} KiB (${out.result.mappings} mappings)`);
      assert.ok(out.result.mappings > 0 && out.result.advisedBytes > 0, JSON.stringify(out.result));
      assert.equal(out.again, 'still works');
      assert.ok(out.second.mappings > 0);
      // Measured: ~30 MiB of file pages before, a few MiB after.
      assert.ok(out.before > 10_000, `file-backed resident before: ${out.before} KiB`);
      assert.ok(out.after < out.before / 2, `file-backed resident ${out.before} -> ${out.after} KiB: not halved`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
