// The V8 code cache of the packaged CNI plugin (see cni-loader.cjs), made by scripts/package.mjs
// on the Node.js the executable embeds, with no V8 flags (the executable's: V8 refuses a cache
// made under other flags):
//   node cni-code-cache.cjs <wrapped bundle> <cache out> <spawn.node>
// The bundle (the SEA main bundle of src/bin/flannel-sea.ts, in the CommonJS wrapper) is compiled
// as the loader compiles it and run for real, as the executable would be run: an ADD and then a
// DEL of one container in a temporary directory, with a stand-in delegate (a shell script) and the
// network config and subnet.env a node has. Its stdin is the config (read through the `require`
// handed to it, whose node:fs answers descriptor 0 with it), its stdout and stderr are kept, and
// its process.exit() ends the run. The spawn addon is found next to the "executable" (the runs
// see process.execPath in the temporary directory, where a copy of it lies), as the packaged
// plugin finds it inside itself, so the delegate runs through it; its exit() ends the run as
// process.exit() does. The cache taken after both holds every function they compiled.
'use strict';
/* global process, Buffer */
const fs = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Script } = require('node:vm');

const RESULT = '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"interface":0,"address":"10.244.7.2/24","gateway":"10.244.7.1"}],"routes":[{"dst":"10.244.0.0/16"}],"dns":{}}';

/** Runs the bundle's main once for `verb`; resolves to its exit code and what it wrote. */
function runOnce(script, verb, env, conf) {
  const said = [];
  const plugFs = {
    ...fs,
    readFileSync: (file, ...rest) => (file === 0 ? Buffer.from(conf) : fs.readFileSync(file, ...rest)),
    writeSync: (fd, buf, off = 0, len = buf.length - off) => {
      if (fd !== 1 && fd !== 2) return fs.writeSync(fd, buf, off, len);
      said.push(Buffer.from(buf.subarray(off, off + len)).toString('utf8'));
      return len;
    },
  };
  const plugRequire = (id) => (id === 'node:fs' || id === 'fs' ? plugFs : require(id));
  const saved = { env: process.env, argv: process.argv, exit: process.exit, execPath: process.execPath, dlopen: process.dlopen };
  return new Promise((resolve) => {
    process.env = { ...env, CNI_COMMAND: verb };
    process.execPath = join(env.CNI_PATH, 'flannel');
    process.dlopen = (mod, file, flags) => {
      saved.dlopen.call(process, mod, file, flags);
      mod.exports = { ...mod.exports, exit: (code) => process.exit(code) };
      addonLoaded = true;
    };
    // Started with no arguments, as runtimes start plugins.
    process.argv = process.argv.slice(0, 2);
    process.exit = (code) => resolve({ code, said: said.join('') });
    const module = { exports: {} };
    script.runInThisContext()(module.exports, plugRequire, module, process.execPath, '/');
  }).finally(() => Object.assign(process, saved));
}

let addonLoaded = false;

async function main([wrapped, out, addon]) {
  if (!wrapped || !out || !addon) throw new Error('usage: cni-code-cache.cjs <wrapped bundle> <cache out> <spawn.node>');
  const script = new Script(fs.readFileSync(wrapped, 'latin1'), { filename: process.execPath });
  const dir = fs.mkdtempSync(join(tmpdir(), 'flannel-cni-cache-'));
  try {
    const delegate = join(dir, 'bridge');
    fs.writeFileSync(delegate, `#!/bin/sh\ncat > /dev/null\n[ "$CNI_COMMAND" = ADD ] && echo '${RESULT}'\nexit 0\n`);
    fs.chmodSync(delegate, 0o755);
    fs.copyFileSync(addon, join(dir, 'spawn.node'));
    const subnetFile = join(dir, 'subnet.env');
    fs.writeFileSync(subnetFile, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', subnetFile, dataDir: join(dir, 'data'), delegate: { hairpinMode: true, isDefaultGateway: true } });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_CONTAINERID: 'cache-warm-up', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: dir };
    for (const verb of ['ADD', 'DEL']) {
      const { code, said } = await runOnce(script, verb, env, conf);
      if (code !== 0) throw new Error(`warm-up ${verb} exited ${code}: ${said}`);
      if (verb === 'ADD' && !said.includes(RESULT)) throw new Error(`warm-up ADD did not answer the delegate's result: ${said}`);
    }
    if (!addonLoaded) throw new Error('warm-up did not run its delegates through the spawn addon');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.writeFileSync(out, script.createCachedData());
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`cni-code-cache: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
