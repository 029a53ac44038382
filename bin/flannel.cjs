#!/usr/bin/env node
// flannel: the CNI plugin (`"type": "flannel"`). A thin shim: all logic lives in dist/src/cni/cni-main.js.
// The runtime runs it once per pod and reads its answer from stdout; only this file exits.
// bin/flannel is a symbolic link to this file: Node resolves the link and runs a `.cjs` file
// as CommonJS. Not an ES module on purpose: an ES module entry starts Node's ESM loader, ~8 ms
// of a run that is mostly start-up. It runs the one-file CommonJS bundle that `npm run build`
// makes of that code (dist/bundle/), with the V8 code cache made for this Node.js next to it
// when there is one (functions compiled already: ~2 ms; V8 checks that the cache fits and
// otherwise compiles), unless the bundle is missing or older than tsc's output (a `tsc` run
// without the bundler): then the modules themselves. No V8 flag in the shebang: any V8 flag
// makes Node compile its own built-in modules afresh (its embedded code cache no longer
// matches), ~12 ms per run.
'use strict';
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
const { readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'bundle', 'flannel-cni.cjs');
const modules = join(__dirname, '..', 'dist', 'src', 'cni', 'cni-main.js');
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;

/** The bundle's exports, compiled as scripts/bundle-cni-cache.cjs compiled it for the cache. */
function loadBundle() {
  const Module = require('node:module');
  const vm = require('node:vm');
  // Made after the bundle by the same build; an older one belongs to another bundle.
  const cache = `${bundle}.${process.version}.cache`;
  let cachedData;
  try {
    if (mtime(cache) >= mtime(bundle)) cachedData = readFileSync(cache);
  } catch {
    // unreadable: compile
  }
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, join(bundle, '..'));
  return mod.exports;
}

const plugin = mtime(bundle) >= mtime(modules) ? Promise.resolve(loadBundle()) : import(require('node:url').pathToFileURL(modules).href);

plugin
  .then(({ cniMain, processIO, quickExit }) => cniMain(process.env, processIO()).then((code) => ({ code, exit: quickExit() })))
  .then(({ code, exit }) => {
    // _exit() through the spawn addon when there is nothing left to write (cni-main.js quickExit).
    if (exit) exit(code);
    process.exit(code);
  });
