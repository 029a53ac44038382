/**
 * bin/flannel's loader, run as a process on this Node.js from a copy of bin/ and dist/bundle/:
 * it answers with the bundle's code whether the V8 code cache next to the bundle fits, is
 * garbage, is older than the bundle, or is missing (V8 refuses a cache that does not fit;
 * the loader skips one older than the bundle).
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../../support/command.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const BUNDLE = join(REPO, 'dist', 'bundle', 'flannel-cni.cjs');
const CACHE = `${BUNDLE}.${process.version}.cache`;
const VERSION_DOC = { cniVersion: '1.1.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] };

describe('bin/flannel loading the bundle', { skip: existsSync(CACHE) ? false : `no ${CACHE} (npm run build)` }, () => {
  let root: string;
  let cache: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ftc-unit-bin-'));
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'dist', 'bundle'), { recursive: true });
    copyFileSync(join(REPO, 'bin', 'flannel.cjs'), join(root, 'bin', 'flannel.cjs'));
    copyFileSync(BUNDLE, join(root, 'dist', 'bundle', 'flannel-cni.cjs'));
    cache = join(root, 'dist', 'bundle', `flannel-cni.cjs.${process.version}.cache`);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const version = async () => {
    const res = await run([process.execPath, join(root, 'bin', 'flannel.cjs')], { env: { CNI_COMMAND: 'VERSION', NODE_OPTIONS: '' } });
    assert.deepEqual(JSON.parse(res.stdout), VERSION_DOC);
    assert.equal(res.stderr, '');
  };

  it('with the cache made for this Node.js', async () => {
    copyFileSync(CACHE, cache);
    await version();
  });

  it('with a cache that is garbage', async () => {
    writeFileSync(cache, Buffer.alloc(4096, 7));
    await version();
  });

  it('with a cache older than the bundle', async () => {
    copyFileSync(CACHE, cache);
    const old = new Date(Date.now() - 60_000);
    utimesSync(cache, old, old);
    await version();
  });

  it('with no cache', async () => {
    await rm(cache, { force: true });
    await version();
  });
});
