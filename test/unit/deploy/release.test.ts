/**
 * scripts/release.mjs: the release tarball's layout, modes and checksums, built from fake
 * executables in a temporary tree (no root, no package build), and reproducible byte for byte.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { run } from '../../support/command.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface ReleaseFile {
  name: string;
  from: string;
  mode: number;
  required: boolean;
}
interface ReleaseResult {
  name: string;
  tarball: string;
  sha256: string;
  sums: string;
  contents: { name: string; bytes: number; sha256: string }[];
}
interface ReleaseModule {
  PLATFORM: string;
  RELEASE_FILES: readonly ReleaseFile[];
  PACKAGED: readonly string[];
  releaseName(version: string): string;
  sha256sumsText(entries: { name: string; sha256: string }[]): string;
  renderManifest(text: string, image: string | undefined): string;
  isStale(m: { outputs: (number | undefined)[]; newestInput: number }): boolean;
  newestMtime(root: string, paths: readonly string[], skip?: (rel: string) => boolean): Promise<number>;
  assembleRelease(o: { root: string; version: string; outDir: string; mtime: number; image?: string }): Promise<ReleaseResult>;
}

// The script lives outside tsc's tree (it must run before any build): load it from the repository.
const release = (await import(`${ROOT}scripts/release.mjs`)) as ReleaseModule;

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const MTIME = 1_764_000_000;

/** A repository-like tree with fake executables and the real deploy files and README. */
async function fakeTree(dir: string, opts: { license?: boolean; skip?: string } = {}): Promise<Map<string, Buffer>> {
  const written = new Map<string, Buffer>();
  for (const f of release.RELEASE_FILES) {
    if (f.from === opts.skip || (f.name === 'LICENSE' && !opts.license)) continue;
    await mkdir(join(dir, f.from, '..'), { recursive: true });
    if (release.PACKAGED.includes(f.from)) await writeFile(join(dir, f.from), `#!/bin/sh\necho fake ${f.name}\n`, { mode: 0o700 });
    else if (f.name === 'LICENSE') await writeFile(join(dir, f.from), 'Apache License 2.0 (fake)\n');
    else await copyFile(join(ROOT, f.from), join(dir, f.from));
    written.set(f.name, await readFile(join(dir, f.from)));
  }
  return written;
}

async function extract(tarball: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  await run(['tar', '-xzf', tarball, '-C', into]);
}

/** `tar -tvz` listing: [mode string, owner, name] per entry. */
async function listing(tarball: string): Promise<{ mode: string; owner: string; name: string; mtime: string }[]> {
  const { stdout } = await run(['tar', '--numeric-owner', '--utc', '-tvzf', tarball]);
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/))
    .map(([mode, owner, , day, time, name]) => ({ mode: mode ?? '', owner: owner ?? '', name: name ?? '', mtime: `${day} ${time}` }));
}

describe('scripts/release.mjs', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'release-test-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('names the release flannel-ts-<version>-linux-x64 and refuses a version that is not semver', () => {
    assert.equal(release.releaseName('0.1.0'), 'flannel-ts-0.1.0-linux-x64');
    assert.equal(release.releaseName('1.2.3-rc.1'), 'flannel-ts-1.2.3-rc.1-linux-x64');
    assert.throws(() => release.releaseName('../x'), { code: 'ERR_RELEASE_VERSION' });
  });

  it('ships both executables from dist/package, and the deploy files and README of this repository', () => {
    const from = Object.fromEntries(release.RELEASE_FILES.map((f) => [f.name, f]));
    assert.deepEqual(release.PACKAGED, ['dist/package/flanneld', 'dist/package/flannel', 'dist/package/flannelctl']);
    assert.equal(from['flanneld']?.mode, 0o755);
    assert.equal(from['flannel']?.mode, 0o755);
    for (const f of release.RELEASE_FILES) {
      if (!release.PACKAGED.includes(f.from) && f.required) assert.ok(existsSync(join(ROOT, f.from)), `${f.from} exists`);
    }
  });

  it('builds the tarball: one top directory, every file with its mode, owner 0/0, one mtime, checksums that verify', async () => {
    const root = join(tmp, 'repo');
    const written = await fakeTree(root);
    const outDir = join(tmp, 'out');
    const r = await release.assembleRelease({ root, version: '0.1.0', outDir, mtime: MTIME });

    const name = 'flannel-ts-0.1.0-linux-x64';
    assert.equal(r.tarball, join(outDir, `${name}.tar.gz`));
    assert.deepEqual((await readdir(outDir)).sort(), ['SHA256SUMS', `${name}.tar.gz`], 'no staging directory left behind');

    const entries = await listing(r.tarball);
    assert.deepEqual(
      entries.map((e) => e.name),
      [`${name}/`, ...['README.md', 'SHA256SUMS', 'flannel', 'flannelctl', 'flanneld', 'flanneld.env', 'flanneld.service', 'kube-flannel-ts.yml'].map((n) => `${name}/${n}`)],
    );
    const modeOf = Object.fromEntries(entries.map((e) => [e.name.replace(`${name}/`, ''), e.mode]));
    assert.equal(modeOf[''], 'drwxr-xr-x');
    assert.equal(modeOf['flanneld'], '-rwxr-xr-x', 'the fake was 0700: the release sets 0755');
    assert.equal(modeOf['flannel'], '-rwxr-xr-x');
    for (const n of ['README.md', 'SHA256SUMS', 'flanneld.env', 'flanneld.service', 'kube-flannel-ts.yml']) assert.equal(modeOf[n], '-rw-r--r--', n);
    assert.ok(entries.every((e) => e.owner === '0/0'), 'owner 0/0');
    assert.equal(new Set(entries.map((e) => e.mtime)).size, 1);
    assert.equal(entries[0]?.mtime, new Date(MTIME * 1000).toISOString().slice(0, 16).replace('T', ' '));

    const x = join(tmp, 'x');
    await extract(r.tarball, x);
    for (const [n, bytes] of written) assert.deepEqual(await readFile(join(x, name, n)), bytes, `${n} is the source file`);
    const inner = await readFile(join(x, name, 'SHA256SUMS'), 'utf8');
    assert.equal(inner.trim().split('\n').length, written.size, 'one line per file');
    await run(['sha256sum', '--check', '--strict', 'SHA256SUMS'], { cwd: join(x, name) });
    assert.equal(inner, release.sha256sumsText([...written].map(([n, b]) => ({ name: n, sha256: sha256(b) }))));

    const outer = await readFile(r.sums, 'utf8');
    assert.equal(outer, `${sha256(await readFile(r.tarball))}  ${name}.tar.gz\n`);
    await run(['sha256sum', '--check', '--strict', 'SHA256SUMS'], { cwd: outDir });
    assert.equal(r.sha256, sha256(await readFile(r.tarball)));
  });

  it('is reproducible: the same inputs give the same tarball, byte for byte', async () => {
    const root = join(tmp, 'repro');
    await fakeTree(root);
    const a = await release.assembleRelease({ root, version: '0.1.0', outDir: join(tmp, 'a'), mtime: MTIME });
    const b = await release.assembleRelease({ root, version: '0.1.0', outDir: join(tmp, 'b'), mtime: MTIME });
    assert.equal(a.sha256, b.sha256);
    const c = await release.assembleRelease({ root, version: '0.1.0', outDir: join(tmp, 'c'), mtime: MTIME + 1 });
    assert.notEqual(c.sha256, a.sha256, 'the mtime is in the archive');
  });

  it('includes LICENSE when the repository has one, and fails naming the build when an executable is missing', async () => {
    const withLicense = join(tmp, 'licensed');
    await fakeTree(withLicense, { license: true });
    const r = await release.assembleRelease({ root: withLicense, version: '0.2.0', outDir: join(tmp, 'licensed-out'), mtime: MTIME });
    assert.ok(r.contents.some((c) => c.name === 'LICENSE'));
    assert.ok((await listing(r.tarball)).some((e) => e.name === 'flannel-ts-0.2.0-linux-x64/LICENSE'));

    const noPlugin = join(tmp, 'no-plugin');
    await fakeTree(noPlugin, { skip: 'dist/package/flannel' });
    const out = join(tmp, 'no-plugin-out');
    await assert.rejects(release.assembleRelease({ root: noPlugin, version: '0.1.0', outDir: out, mtime: MTIME }), (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'ERR_RELEASE_MISSING');
      assert.match(e.message ?? '', /dist\/package\/flannel is missing.*npm run package/);
      return true;
    });
    assert.deepEqual(await readdir(out), [], 'nothing half-made is left');
  });

  it('writes --image into every container of the manifest, and the result still parses', async () => {
    const text = await readFile(join(ROOT, 'deploy/kube-flannel-ts.yml'), 'utf8');
    const rendered = release.renderManifest(text, 'registry.example/flannel-ts:0.1.0');
    const pod = parseAllDocuments(rendered).map((d) => d.toJS()).find((d) => d?.kind === 'DaemonSet').spec.template.spec;
    const images = [...pod.initContainers, ...pod.containers].map((c: { image: string }) => c.image);
    assert.ok(images.length >= 3);
    assert.ok(images.every((i) => i === 'registry.example/flannel-ts:0.1.0'), images.join(', '));
    assert.equal(release.renderManifest(text, undefined), text);
    assert.throws(() => release.renderManifest(text, 'a b'), { code: 'ERR_RELEASE_IMAGE' });

    const root = join(tmp, 'image');
    await fakeTree(root);
    const r = await release.assembleRelease({ root, version: '0.1.0', outDir: join(tmp, 'image-out'), mtime: MTIME, image: 'registry.example/flannel-ts:0.1.0' });
    const x = join(tmp, 'image-x');
    await extract(r.tarball, x);
    assert.equal(await readFile(join(x, 'flannel-ts-0.1.0-linux-x64/kube-flannel-ts.yml'), 'utf8'), rendered);
  });

  it('rebuilds when an executable is missing or older than the newest source', async () => {
    assert.equal(release.isStale({ outputs: [200, 300], newestInput: 100 }), false);
    assert.equal(release.isStale({ outputs: [200, 300], newestInput: 250 }), true);
    assert.equal(release.isStale({ outputs: [200, undefined], newestInput: 100 }), true);

    const root = join(tmp, 'mtimes');
    await mkdir(join(root, 'src/a'), { recursive: true });
    await writeFile(join(root, 'src/a/x.ts'), '');
    await writeFile(join(root, 'package.json'), '{}');
    await writeFile(join(root, 'src/a/skipped.sh'), '');
    await utimes(join(root, 'src/a/x.ts'), MTIME, MTIME);
    await utimes(join(root, 'package.json'), MTIME + 10, MTIME + 10);
    await utimes(join(root, 'src/a/skipped.sh'), MTIME + 20, MTIME + 20);
    const skipShell = (rel: string) => rel.endsWith('.sh');
    assert.equal(await release.newestMtime(root, ['src', 'package.json', 'no-such-dir'], skipShell), (MTIME + 10) * 1000);
    assert.equal(await release.newestMtime(root, ['src'], skipShell), MTIME * 1000);
    assert.equal(await release.newestMtime(root, ['src']), (MTIME + 20) * 1000);
  });
});
