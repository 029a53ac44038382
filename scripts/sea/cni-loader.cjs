// Packaged CNI plugin only: the SEA main of dist/package/flannel. The plugin's bundle is not the
// SEA main itself but the asset "flannel-cni.cjs" (already in the CommonJS wrapper), compiled here
// with the V8 code cache carried as the asset "flannel-cni.cache". That cache is made by
// scripts/sea/cni-code-cache.cjs on the same Node.js after it ran the bundle through an ADD and
// a DEL, so it holds the bytecode of every function those runs call. The SEA's own code cache
// (useCodeCache) cannot: Node makes it by compiling the main script without running it, which
// compiles only its top level, and each function the plugin calls was then compiled as it ran
// (~2 ms of an ADD, ~1.5 ms of a DEL, in a run that is mostly start-up).
// A cache V8 refuses (made by another V8 or under other V8 flags) only costs that time again; it
// is said on stderr as Node says it of the SEA's own cache, so that the packaged tests notice.
'use strict';
/* global process, Buffer, __filename, __dirname */
// The script gets no importModuleDynamically (that starts Node's ES module loader, ~3 ms): the
// bundle has no import() left (esbuild turns those of its own modules into calls; built-in
// modules are taken with process.getBuiltinModule()), and scripts/package.mjs checks it.
const { getRawAsset } = require('node:sea');
const { Script } = require('node:vm');

// The assets as they lie in the executable, not copies; the bundle is ASCII (package.mjs checks).
const script = new Script(Buffer.from(getRawAsset('flannel-cni.cjs')).toString('latin1'), {
  filename: __filename,
  cachedData: new Uint8Array(getRawAsset('flannel-cni.cache')),
});
if (script.cachedDataRejected) process.stderr.write('Warning: Code cache data rejected (flannel-cni.cache).\n');
script.runInThisContext()(exports, require, module, __filename, __dirname);
