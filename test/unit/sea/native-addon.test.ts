/**
 * Native addons carried as SEA assets (src/sea/native-addon.ts), loaded here through a stand-in
 * source: from an unnamed file (O_TMPFILE) in the temp dir, two different addons one after the
 * other each getting its own exports (the C library knows a loaded object by its /proc path),
 * nothing left in the temp dir; an addon next to the executable before the asset; clear errors
 * when there is none or the temp dir cannot hold a copy; os.tmpdir()'s rule without node:os.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, NativeAddonError, tempDir, type AddonSource } from '../../../src/sea/native-addon.js';

const NATIVE = fileURLToPath(new URL('../../../native/', import.meta.url));
const bytes = (name: string) => new Uint8Array(readFileSync(join(NATIVE, name)));

describe('native addons from SEA assets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftc-unit-addon-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const source = (tmpDir: string, execDir = join(dir, 'bin')): AddonSource => ({
    asset: (key) => (key === 'spawn.node' || key === 'pages.node' ? bytes(key) : undefined),
    execPath: join(execDir, 'flannel'),
    tmpDir,
  });

  it('loads two addons from unnamed files, each with its own exports, leaving nothing behind', async () => {
    const tmp = await mkdtemp(join(dir, 'tmp-'));
    const spawn = loadNativeAddon('spawn.node', source(tmp)) as Record<string, unknown>;
    const pages = loadNativeAddon('pages.node', source(tmp)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(spawn).sort(), ['exit', 'run']);
    assert.deepEqual(Object.keys(pages), ['releaseColdPages']);
    assert.deepEqual(readdirSync(tmp), []);
    assert.equal(loadNativeAddon('spawn.node', source(tmp)), spawn, 'loaded once per process');
  });

  it('names the addon and the directory when the temp dir can hold neither an unnamed file nor a copy', () => {
    // A regular file as the temp dir: open(O_TMPFILE) fails (ENOTDIR), and so does the fallback's mkdtemp.
    const notDir = join(dir, 'flannel-file');
    copyFileSync(join(NATIVE, 'spawn.node'), notDir);
    assert.throws(() => loadNativeAddon('tun.node', { ...source(notDir), asset: () => bytes('tun.node') }), (err: unknown) => {
      assert.ok(err instanceof NativeAddonError, String(err));
      assert.equal(err.message, `native addon tun.node: cannot make a private copy under ${notDir} ($TMPDIR): ENOTDIR`);
      return true;
    });
  });

  it('takes the addon next to the executable before the one inside it', async () => {
    const execDir = await mkdtemp(join(dir, 'bin-'));
    copyFileSync(join(NATIVE, 'tun.node'), join(execDir, 'tun.node'));
    const tun = loadNativeAddon('tun.node', { ...source(join(dir, 'nowhere'), execDir), asset: () => undefined }) as Record<string, unknown>;
    assert.equal(typeof tun, 'object');
    assert.ok(Object.keys(tun).length > 0);
  });

  it('names the addon when it is neither next to the executable nor inside it', () => {
    assert.throws(() => loadNativeAddon('nothing.node', source(dir)), (err: unknown) => {
      assert.ok(err instanceof NativeAddonError);
      assert.match(err.message, /native addon nothing\.node: not found next to .*\/bin\/flannel nor inside it/);
      return true;
    });
  });

  it('tempDir() follows os.tmpdir(): TMPDIR, TMP, TEMP, /tmp, no trailing slash', () => {
    assert.equal(tempDir({}), '/tmp');
    assert.equal(tempDir({ TMPDIR: '/var/tmp/' }), '/var/tmp');
    assert.equal(tempDir({ TMP: '/x', TEMP: '/y' }), '/x');
    assert.equal(tempDir({ TEMP: '/y' }), '/y');
    assert.equal(tempDir({ TMPDIR: '/' }), '/');
    assert.equal(tempDir(process.env), tmpdir());
  });
});
