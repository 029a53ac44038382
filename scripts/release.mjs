#!/usr/bin/env node
// The release artifacts, in one command (`npm run release`):
//   dist/release/flannel-ts-<version>-linux-x64.tar.gz   flannel-ts-<version>-linux-x64/ with the
//       two self-contained executables, the manifest, the systemd unit and its settings, the
//       README (and LICENSE when there is one), and SHA256SUMS of all of them;
//   dist/release/SHA256SUMS                               the tarball's checksum.
// It runs `npm run build` and `npm run package` first when dist/package/ is missing or older
// than the sources (--rebuild: always; --no-build: never), and checks that the packaged
// flanneld reports package.json's version. --image=<ref> writes that image into the manifest
// in place of IMAGE.
//
// The archive is reproducible: files sorted by name, owner 0:0, modes 0755/0644, every mtime
// SOURCE_DATE_EPOCH (default: the last commit's time), gzip without a name or time. The parts
// that need no build (the layout, the checksums, the archive) are exported for the tests.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import process from 'node:process';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGzip } from 'node:zlib';

export const PLATFORM = 'linux-x64';

/** A failure of the release step; `code` is stable, the message says what to do. */
export class ReleaseError extends Error {
  /** @param {string} code @param {string} message @param {{ cause?: unknown }} [options] */
  constructor(code, message, options) {
    super(message, options);
    this.name = 'ReleaseError';
    this.code = code;
  }
}

/**
 * What the release directory holds: the name in the archive, the source (relative to the
 * repository root), the mode, and whether the release fails without it.
 */
export const RELEASE_FILES = Object.freeze([
  { name: 'flanneld', from: 'dist/package/flanneld', mode: 0o755, required: true },
  { name: 'flannel', from: 'dist/package/flannel', mode: 0o755, required: true },
  { name: 'flannelctl', from: 'dist/package/flannelctl', mode: 0o755, required: false },
  { name: 'kube-flannel-ts.yml', from: 'deploy/kube-flannel-ts.yml', mode: 0o644, required: true },
  { name: 'flanneld.service', from: 'deploy/flanneld.service', mode: 0o644, required: true },
  { name: 'flanneld.env', from: 'deploy/flanneld.env', mode: 0o644, required: true },
  { name: 'README.md', from: 'README.md', mode: 0o644, required: true },
  { name: 'LICENSE', from: 'LICENSE', mode: 0o644, required: false },
]);

/** The executables `npm run package` writes, relative to the repository root. */
export const PACKAGED = Object.freeze(RELEASE_FILES.filter((f) => f.from.startsWith('dist/package/')).map((f) => f.from));

/** What the executables are built from: newer files here make dist/package/ stale. */
export const BUILD_INPUTS = Object.freeze(['src', 'bin', 'native', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']);

/** `flannel-ts-0.1.0-linux-x64`: the archive's top directory and the tarball's base name. */
export function releaseName(version, platform = PLATFORM) {
  if (!/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/.test(version)) {
    throw new ReleaseError('ERR_RELEASE_VERSION', `release: version ${JSON.stringify(version)} is not a semantic version`);
  }
  return `flannel-ts-${version}-${platform}`;
}

/** sha256sum's output for these files, sorted by name, so that `sha256sum -c` checks them. */
export function sha256sumsText(entries) {
  return [...entries]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((e) => `${e.sha256}  ${e.name}\n`)
    .join('');
}

/** The hex SHA-256 of a file, streamed (the executables are ~100 MiB). */
export async function sha256File(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** The manifest with `image: IMAGE` replaced by `image: <image>` (every container). */
export function renderManifest(text, image) {
  if (image === undefined) return text;
  if (!/^[^\s#]+$/.test(image)) throw new ReleaseError('ERR_RELEASE_IMAGE', `release: --image=${JSON.stringify(image)} is not an image reference`);
  return text.replace(/^(\s*(?:-\s+)?image:\s*)IMAGE\b/gm, `$1${image}`);
}

/**
 * True when a packaged executable is missing (undefined) or older than the newest input.
 * @param {{ outputs: (number | undefined)[], newestInput: number }} mtimes  milliseconds
 */
export function isStale({ outputs, newestInput }) {
  return outputs.some((t) => t === undefined || t < newestInput);
}

/** The newest mtime (ms) of the files under `paths` (relative to root); missing paths are skipped. */
export async function newestMtime(root, paths, skip = () => false) {
  let newest = 0;
  const visit = async (rel) => {
    if (skip(rel)) return;
    let s;
    try {
      s = await stat(join(root, rel));
    } catch (e) {
      if (e?.code === 'ENOENT') return;
      throw e;
    }
    if (s.isDirectory()) {
      for (const entry of await readdir(join(root, rel))) await visit(join(rel, entry));
    } else {
      newest = Math.max(newest, s.mtimeMs);
    }
  };
  for (const p of paths) await visit(p);
  return newest;
}

/**
 * Builds `<outDir>/<name>.tar.gz` and `<outDir>/SHA256SUMS` from the files of RELEASE_FILES
 * found under `root` (or `files`), with `mtime` (seconds) on every entry. Needs `tar` (GNU).
 * Returns the tarball's path, its checksum, and each file's name, size and checksum.
 * @param {{ root: string, version: string, outDir: string, mtime: number, image?: string,
 *           files?: readonly { name: string, from: string, mode: number, required: boolean }[],
 *           signal?: AbortSignal }} opts
 */
export async function assembleRelease(opts) {
  const { root, version, outDir, mtime, image, signal } = opts;
  const name = releaseName(version);
  if (!Number.isInteger(mtime) || mtime < 0) throw new ReleaseError('ERR_RELEASE_MTIME', `release: mtime ${mtime} is not a time in seconds`);
  await mkdir(outDir, { recursive: true });
  const staging = await mkdtemp(join(outDir, '.staging-'));
  try {
    const dir = join(staging, name);
    await mkdir(dir);
    const contents = [];
    for (const f of opts.files ?? RELEASE_FILES) {
      const src = join(root, f.from);
      const dst = join(dir, f.name);
      try {
        if (f.name === 'kube-flannel-ts.yml') await writeFile(dst, renderManifest(await readFile(src, 'utf8'), image));
        else await copyFile(src, dst);
      } catch (e) {
        if (e?.code !== 'ENOENT') throw e;
        if (!f.required) continue;
        throw new ReleaseError('ERR_RELEASE_MISSING', `release: ${f.from} is missing${PACKAGED.includes(f.from) ? ' (run `npm run build && npm run package`)' : ''}`, { cause: e });
      }
      await chmod(dst, f.mode);
      contents.push({ name: f.name, bytes: (await stat(dst)).size, sha256: await sha256File(dst) });
    }
    await writeFile(join(dir, 'SHA256SUMS'), sha256sumsText(contents));
    await chmod(join(dir, 'SHA256SUMS'), 0o644);
    await chmod(dir, 0o755);

    const tarball = join(outDir, `${name}.tar.gz`);
    const partial = join(staging, `${name}.tar.gz`);
    await writeTarGz({ cwd: staging, entry: name, mtime, out: partial, signal });
    await rename(partial, tarball);
    const sha256 = await sha256File(tarball);
    await writeFile(join(outDir, 'SHA256SUMS'), sha256sumsText([{ name: basename(tarball), sha256 }]));
    return { name, tarball, sha256, sums: join(outDir, 'SHA256SUMS'), contents };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** GNU tar, reproducible, through Node's gzip (no file name or time in the gzip header). */
async function writeTarGz({ cwd, entry, mtime, out, signal }) {
  const argv = ['--create', '--format=ustar', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${mtime}`, '--file=-', entry];
  const tar = spawn('tar', argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], signal });
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code, sig) => resolve({ code, sig }));
  });
  await pipeline(tar.stdout, createGzip(), createWriteStream(out), { signal });
  const { code, sig } = await exited;
  if (code !== 0) throw new ReleaseError('ERR_RELEASE_TAR', `release: tar ${argv.join(' ')} failed (${sig ?? `exit ${code}`}): ${stderr.trim()}`);
}

// ---------------------------------------------------------------------------------------------
// The command line.

function parseArgs(argv) {
  const o = { build: 'auto', image: undefined, outDir: undefined };
  for (const a of argv) {
    if (a === '--rebuild') o.build = 'always';
    else if (a === '--no-build') o.build = 'never';
    else if (a.startsWith('--image=')) o.image = a.slice('--image='.length);
    else if (a.startsWith('--out-dir=')) o.outDir = a.slice('--out-dir='.length);
    else throw new ReleaseError('ERR_RELEASE_USAGE', `release: unknown argument ${JSON.stringify(a)}\nusage: npm run release [-- --rebuild | --no-build] [--image=<ref>] [--out-dir=<dir>]`);
  }
  return o;
}

function npmRun(root, script) {
  process.stdout.write(`release: npm run ${script}\n`);
  const r = spawnSync('npm', ['run', '--silent', script], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new ReleaseError('ERR_RELEASE_BUILD', `release: npm run ${script} failed (${r.error?.message ?? r.signal ?? `exit ${r.status}`})`);
}

async function mtimeOf(path) {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Builds the executables when they are missing or stale, per `mode` (auto, always, never). */
async function ensurePackaged(root, mode) {
  const outputs = await Promise.all(PACKAGED.map((p) => mtimeOf(join(root, p))));
  // This script and the shell scripts (demo, tests, setup) do not go into the executables.
  const self = relative(root, fileURLToPath(import.meta.url));
  const newestInput = await newestMtime(root, BUILD_INPUTS, (rel) => rel === self || rel.endsWith('.sh'));
  const stale = isStale({ outputs, newestInput });
  if (mode === 'never' || (mode === 'auto' && !stale)) return;
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  if (!pkg.scripts?.package) throw new ReleaseError('ERR_RELEASE_BUILD', 'release: package.json has no "package" script to build dist/package/');
  npmRun(root, 'build');
  npmRun(root, 'package');
}

/** The packaged flanneld must run here and name this version. */
function checkVersion(root, version) {
  const exe = join(root, 'dist/package/flanneld');
  // An empty environment: no PATH, so no node to fall back on.
  const r = spawnSync(exe, ['-version'], { encoding: 'utf8', timeout: 30_000, env: {} });
  const said = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0 || !(said === version || said.startsWith(`${version} `))) {
    throw new ReleaseError('ERR_RELEASE_VERSION', `release: ${relative(root, exe)} -version said ${JSON.stringify(said)} (${r.error?.message ?? r.signal ?? `exit ${r.status}`}); expected ${version}`);
  }
  return said;
}

/** SOURCE_DATE_EPOCH, else the last commit's time, else now. */
function sourceDateEpoch(root) {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  const r = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' });
  if (r.status === 0 && /^\d+$/.test(r.stdout.trim())) return Number(r.stdout.trim());
  return Math.floor(Date.now() / 1000);
}

const size = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

async function main(argv) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const args = parseArgs(argv);
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  releaseName(version);
  await ensurePackaged(root, args.build);
  const said = checkVersion(root, version);
  const outDir = args.outDir ?? join(root, 'dist/release');
  const r = await assembleRelease({ root, version, outDir, mtime: sourceDateEpoch(root), image: args.image });
  const out = (p) => (relative(root, p).startsWith('..') ? p : relative(root, p));
  process.stdout.write(`release: flanneld -version: ${said}\n`);
  if (/\bdirty\b/.test(said)) process.stderr.write('release: warning: the executables were built from uncommitted changes\n');
  process.stdout.write(`release: ${out(r.tarball)} (${size((await stat(r.tarball)).size)})\n`);
  for (const c of r.contents) process.stdout.write(`  ${r.name}/${c.name.padEnd(20)} ${size(c.bytes).padStart(10)}  ${c.sha256}\n`);
  process.stdout.write(`release: ${out(r.sums)}: ${r.sha256}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${e instanceof ReleaseError ? e.message : (e?.stack ?? String(e))}\n`);
    process.exitCode = 1;
  });
}
