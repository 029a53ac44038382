// The V8 code cache of the CNI plugin's bundle, for the Node.js that runs this script:
// `node scripts/bundle-cni-cache.cjs <bundle.cjs>` writes <bundle.cjs>.<node version>.cache. Run by scripts/bundle-cni.mjs
// once per Node.js that may run bin/flannel. The bundle is compiled as bin/flannel compiles it
// (vm.Script over the CommonJS wrapper), then run for real: ADD and DEL of one container in a
// temporary directory, with a stand-in delegate (a shell script) and the network config and
// subnet.env a node has. The cache taken after that holds the bytecode of every function those
// runs compiled, so a plugin run starts with them compiled (~2 ms of a run that is mostly
// start-up). V8 refuses a cache made by another V8 or with other V8 flags (bin/flannel then
// compiles as usual), so this runs with no NODE_OPTIONS.
'use strict';
/* global require, process, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports */
const { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

async function main([bundle]) {
  if (!bundle) throw new Error('usage: bundle-cni-cache.cjs <bundle.cjs>');
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, dirname(bundle));
  const { cniMain } = mod.exports;

  const dir = mkdtempSync(join(tmpdir(), 'flannel-cni-cache-'));
  try {
    const delegate = join(dir, 'bridge');
    writeFileSync(delegate, `#!/bin/sh\ncat > /dev/null\n[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"interface":0,"address":"10.244.7.2/24","gateway":"10.244.7.1"}],"routes":[{"dst":"10.244.0.0/16"}],"dns":{}}'\nexit 0\n`);
    chmodSync(delegate, 0o755);
    const subnetFile = join(dir, 'subnet.env');
    writeFileSync(subnetFile, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', subnetFile, dataDir: join(dir, 'data'), delegate: { hairpinMode: true, isDefaultGateway: true } });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_CONTAINERID: 'cache-warm-up', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: dir };
    const said = [];
    const io = { readStdin: async () => Buffer.from(conf), stdout: (t) => said.push(t), stderr: (t) => said.push(t) };
    for (const command of ['ADD', 'DEL']) {
      const code = await cniMain({ ...env, CNI_COMMAND: command }, io);
      if (code !== 0) throw new Error(`warm-up ${command} failed: ${said.join('')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(`${bundle}.${process.version}.cache`, script.createCachedData());
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bundle-cni-cache: ${err.message}\n`);
    process.exit(1);
  },
);
